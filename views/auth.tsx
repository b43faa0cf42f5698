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
        <h1 safe>{title}</h1>
        <form method="post" action={mode === "login" ? "/login" : "/signup"} class="card" novalidate>
          <CsrfField ctx={ctx} />
          <FieldError id="form-error" text={errors.form} />
          <label for="username" safe>
            {t.auth.username}
          </label>
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
            aria-describedby={errors.username ? "username-error" : mode === "signup" ? "username-hint" : undefined}
            autofocus
          />
          {mode === "signup" ? <p class="hint" id="username-hint" safe>
              {t.auth.usernameHint}
            </p> : ""}
          <FieldError id="username-error" text={errors.username} />
          <label for="password" safe>
            {t.auth.password}
          </label>
          <input
            id="password"
            name="password"
            type="password"
            autocomplete={mode === "login" ? "current-password" : "new-password"}
            required
            aria-invalid={errors.password ? "true" : undefined}
            aria-describedby={errors.password ? "password-error" : mode === "signup" ? "password-hint" : undefined}
          />
          {mode === "signup" ? <p class="hint" id="password-hint" safe>
              {t.auth.passwordHint}
            </p> : ""}
          <FieldError id="password-error" text={errors.password} />
          <button type="submit" class="primary" safe>
            {mode === "login" ? t.auth.logIn : t.auth.signUp}
          </button>
        </form>
        <p class="switch">
          {mode === "login" ? (
            <>
              <span safe>{t.auth.noAccount}</span> <a href="/signup" safe>{t.nav.signUp}</a>
            </>
          ) : (
            <>
              <span safe>{t.auth.haveAccount}</span> <a href="/login" safe>{t.nav.logIn}</a>
            </>
          )}
        </p>
      </main>
    </Layout>
  );
}
