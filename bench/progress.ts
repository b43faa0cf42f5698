// Progress on stderr for the long parts of a benchmark run: one line, rewritten in place on a
// terminal, a line per update elsewhere (CI logs).
const tty = process.stderr.isTTY;
let lastLog = 0;

export function progress(label: string, total: number): (done: number) => void {
  return (done) => {
    const line = `${label}: ${done}/${total}`;
    if (tty) process.stderr.write(`\r\x1b[2K${line}${done >= total ? "\n" : ""}`);
    else if (done >= total || Date.now() - lastLog > 2000) {
      process.stderr.write(`${line}\n`);
      lastLog = Date.now();
    }
  };
}

export function note(line: string): void {
  process.stderr.write(`${tty ? "\r\x1b[2K" : ""}${line}\n`);
}
