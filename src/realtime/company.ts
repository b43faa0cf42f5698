// Whether an instance has company on the bus channel, so that one alone publishes nothing:
// Redis would only hand every event back to it (in the one-instance relay benchmark that round
// trip cost a sixth of the server's CPU at 25,000 messages/s; bench/RESULTS.md, section 11).
//
// Alone is decided only on proof: a PUBLISH that Redis says reached one listener, and whose
// echo this instance heard, so that one listener was itself. Everything else (a newcomer's
// hello, an answer, another instance's message, a lost subscription, a heartbeat that did not
// come back or reached someone else) means company. A newcomer says hello only after it
// subscribed, so a publish that reached no one else and was sent before the hello came in
// cannot be the proof: hellos are counted, and a proof is taken only if none came in between
// the publish and its answer. While alone, a heartbeat a second proves it again: a
// subscription that Redis dropped without this instance hearing of it would otherwise keep
// it alone, deaf to newcomers, for as long as TCP takes to notice.

export interface Sent {
  serial: number;
  hellos: number;
}

export class Company {
  /** True until proven alone: publishing to no one costs little, missing someone is a lost event. */
  private others = true;
  private hellos = 0;
  private serial = 0;
  /** The last of this instance's publishes it heard back. */
  private lastEcho = 0;
  /** A publish that reached one listener, waiting for its echo. */
  private candidate: Sent | null = null;
  /** While alone: the last heartbeat, until its echo comes back. */
  private unechoed: number | null = null;

  get alone(): boolean {
    return !this.others;
  }

  /** Numbers a publish about to go out; call answered() with it and Redis's count. */
  next(): Sent {
    return { serial: ++this.serial, hellos: this.hellos };
  }

  answered(sent: Sent, listeners: number): void {
    if (listeners !== 1) {
      // None: this instance's own subscription is gone. More: someone else listens.
      if (listeners === 0 || this.alone) this.met(true);
      return;
    }
    if (this.hellos !== sent.hellos || this.alone) return;
    if (this.lastEcho === sent.serial) this.proven();
    else if (this.lastEcho < sent.serial) this.candidate = sent;
  }

  echo(serial: number): void {
    this.lastEcho = serial;
    if (this.unechoed !== null && serial >= this.unechoed) this.unechoed = null;
    const candidate = this.candidate;
    if (candidate === null || serial < candidate.serial) return;
    this.candidate = null;
    if (serial === candidate.serial && this.hellos === candidate.hellos) this.proven();
  }

  /** Another instance subscribed (hello), answered, published, or was counted on the channel. */
  met(hello = false): void {
    if (hello) this.hellos++;
    this.others = true;
    this.candidate = null;
    this.unechoed = null;
  }

  /** This instance's subscription is gone: hellos may go unheard, so publish until it is back. */
  lost(): void {
    this.met(true);
  }

  /**
   * Once a period. While alone: the heartbeat to publish now, or, when the last one's echo
   * never came back, company (null). Not alone: null.
   */
  heartbeat(): Sent | null {
    if (this.others) return null;
    if (this.unechoed !== null) {
      this.met(true);
      return null;
    }
    const sent = this.next();
    this.unechoed = sent.serial;
    return sent;
  }

  private proven(): void {
    this.others = false;
    this.unechoed = null;
  }
}
