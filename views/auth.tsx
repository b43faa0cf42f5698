import { CsrfField, FieldError, Layout, type PageContext } from "./layout.tsx";

export interface AuthForm {
  username?: string;
  /** Errors by field name; "form" is for an error that belongs to no single field. */
  errors?: Record<string, string>;
}

export function AuthPage({ ctx, mode, form = {} }: { ctx: PageContext; mode: "login" | "signup"; form?: AuthForm }) {
  const { t } = ctx.locale;
  const errors = form.errors ?? {};
  const title = mode === "login" ? t.auth.logInTitle : t.auth.signUpTitle;
  return (
    <Layout ctx={ctx} title={title} page={mode}>
      <main class="auth">
        <h1>{title}</h1>
        <form method="post" action={mode === "login" ? "/login" : "/signup"} class="card" novalidate>
          <CsrfField ctx={ctx} />
          <FieldError id="form-error" text={errors.form} />
          <label for="username">{t.auth.username}</label>
          <input
            id="username"
            name="username"
            value={form.username ?? ""}
            autocomplete="username"
            autocapitalize="none"
            spellcheck="false"
            required
            maxlength="32"
            aria-invalid={errors.username ? "true" : undefined}
            aria-describedby={errors.username ? "username-error" : "username-hint"}
            autofocus
          />
          {mode === "signup" ? <p class="hint" id="username-hint">{t.auth.usernameHint}</p> : ""}
          <FieldError id="username-error" text={errors.username} />
          <label for="password">{t.auth.password}</label>
          <input
            id="password"
            name="password"
            type="password"
            autocomplete={mode === "login" ? "current-password" : "new-password"}
            required
            aria-invalid={errors.password ? "true" : undefined}
            aria-describedby={errors.password ? "password-error" : "password-hint"}
          />
          {mode === "signup" ? <p class="hint" id="password-hint">{t.auth.passwordHint}</p> : ""}
          <FieldError id="password-error" text={errors.password} />
          <button type="submit" class="primary">
            {mode === "login" ? t.auth.logIn : t.auth.signUp}
          </button>
        </form>
        <p class="switch">
          {mode === "login" ? (
            <>
              {t.auth.noAccount} <a href="/signup">{t.nav.signUp}</a>
            </>
          ) : (
            <>
              {t.auth.haveAccount} <a href="/login">{t.nav.logIn}</a>
            </>
          )}
        </p>
      </main>
    </Layout>
  );
}
