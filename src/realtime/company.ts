// Whether an instance has company on the bus channel, so that one alone publishes nothing:
// Redis would only hand every event back to it (in the one-instance relay benchmark that round
// trip cost a sixth of the server's CPU at 25,000 messages/s; bench/RESULTS.md, section 11).
//
// Alone is decided only on proof: a PUBLISH that Redis says reached one listener, and whose
// echo this instance heard, so that one listener was itself. Everything else (a newcomer's
// hello, an answer, a lost subscription, a listener counted by NUMSUB) means company. A
// newcomer says hello only after it subscribed, so a publish that reached no one else and was
// sent before the hello came in cannot be the proof: hellos are counted, and a proof is taken
// only if none came in between the publish and its answer.

export class Company {
  /** True until proven alone: publishing to no one costs little, missing someone is a lost event. */
  private others = true;
  private hellos = 0;
  private serial = 0;
  /** The last of this instance's publishes it heard back. */
  private lastEcho = 0;
  /** A publish that reached one listener, waiting for its echo. */
  private candidate: { serial: number; hellos: number } | null = null;

  get alone(): boolean {
    return !this.others;
  }

  /** Numbers a publish about to go out; call answered() with the same number and Redis's count. */
  next(): { serial: number; hellos: number } {
    return { serial: ++this.serial, hellos: this.hellos };
  }

  answered(sent: { serial: number; hellos: number }, listeners: number): void {
    if (listeners !== 1 || this.hellos !== sent.hellos) return;
    if (this.lastEcho === sent.serial) this.others = false;
    else if (this.lastEcho < sent.serial) this.candidate = sent;
  }

  echo(serial: number): void {
    this.lastEcho = serial;
    const candidate = this.candidate;
    if (candidate === null || serial < candidate.serial) return;
    this.candidate = null;
    if (serial === candidate.serial && this.hellos === candidate.hellos) this.others = false;
  }

  /** Another instance subscribed (hello), answered (here), or was counted on the channel. */
  met(hello = false): void {
    if (hello) this.hellos++;
    this.others = true;
    this.candidate = null;
  }

  /** This instance's subscription is gone: hellos may go unheard, so publish until it is back. */
  lost(): void {
    this.met(true);
  }
}
