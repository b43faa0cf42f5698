import { Layout, type PageContext } from "./layout.tsx";

export function ErrorPage({ ctx, status, text }: { ctx: PageContext; status: number; text: string }) {
  return (
    <Layout ctx={ctx} title={String(status)} page="error">
      <main class="error-page">
        <h1 safe>{String(status)}</h1>
        <p safe>{text}</p>
        <p>
          <a href={ctx.user ? "/messages" : "/"} safe>
            {ctx.user ? ctx.locale.t.nav.conversations : ctx.locale.t.appName}
          </a>
        </p>
      </main>
    </Layout>
  );
}
