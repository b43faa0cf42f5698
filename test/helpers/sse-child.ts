// Run as its own process: follows an event stream and prints what it receives, so a test can
// watch a connection that no in-process trickery keeps alive. Args: url, bearer token.
const [url, token] = process.argv.slice(2);
const response = await fetch(url!, { headers: { authorization: `Bearer ${token}`, accept: "text/event-stream" } });
if (!response.ok || !response.body) {
  console.log(`status ${response.status}`);
  process.exit(1);
}
const decoder = new TextDecoder();
for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) process.stdout.write(decoder.decode(chunk, { stream: true }));
console.log("\nstream ended");
