// When an instance may stop publishing on the bus: only on proof that it is alone. The answers
// and echoes of publishes arrive on two connections in either order, and a newcomer's hello
// can come in between; each order is played here.
import { describe, expect, test } from "bun:test";
import { Company } from "../src/realtime/company.ts";

describe("company on the bus channel", () => {
  test("a publish that reached one listener makes the instance alone once its echo is heard, in either order", () => {
    const answerFirst = new Company();
    const sent = answerFirst.next();
    answerFirst.answered(sent, 1);
    expect(answerFirst.alone).toBe(false);
    answerFirst.echo(sent.serial);
    expect(answerFirst.alone).toBe(true);

    const echoFirst = new Company();
    const sent2 = echoFirst.next();
    echoFirst.echo(sent2.serial);
    echoFirst.answered(sent2, 1);
    expect(echoFirst.alone).toBe(true);
  });

  test("one listener that was not this instance (its own subscription was down) is company", () => {
    const c = new Company();
    const missed = c.next();
    const later = c.next();
    c.echo(later.serial); // the echo of a later publish: the first one's never came
    c.answered(missed, 1);
    expect(c.alone).toBe(false);
    const unheard = c.next();
    c.answered(unheard, 1); // no echo yet, and then the subscription is lost
    c.lost();
    c.echo(unheard.serial);
    expect(c.alone).toBe(false);
  });

  test("a hello heard between a publish and its answer keeps the instance publishing", () => {
    const c = new Company();
    const sent = c.next();
    c.met(true);
    c.answered(sent, 1);
    c.echo(sent.serial);
    expect(c.alone).toBe(false);
    // With a pending proof too: the hello comes after the answer, before the echo.
    const again = c.next();
    c.answered(again, 1);
    c.met(true);
    c.echo(again.serial);
    expect(c.alone).toBe(false);
  });

  test("more than one listener is company; alone ends at a hello or an answer", () => {
    const c = new Company();
    const sent = c.next();
    c.echo(sent.serial);
    c.answered(sent, 2);
    expect(c.alone).toBe(false);
    const next = c.next();
    c.echo(next.serial);
    c.answered(next, 1);
    expect(c.alone).toBe(true);
    c.met(true);
    expect(c.alone).toBe(false);
  });
});

describe("the heartbeat of an instance alone", () => {
  const alone = () => {
    const c = new Company();
    const sent = c.next();
    c.echo(sent.serial);
    c.answered(sent, 1);
    expect(c.alone).toBe(true);
    return c;
  };

  test("a heartbeat heard back keeps it alone; one that never comes back by the next beat is company", () => {
    const c = alone();
    const beat = c.heartbeat()!;
    c.answered(beat, 1);
    c.echo(beat.serial);
    const next = c.heartbeat()!;
    expect(c.alone).toBe(true);
    c.answered(next, 1); // reached one listener, but not this instance: no echo
    expect(c.heartbeat()).toBeNull();
    expect(c.alone).toBe(false);
  });

  test("a heartbeat that reached no one (its own subscription gone) or two listeners is company at once", () => {
    const c = alone();
    c.answered(c.heartbeat()!, 0);
    expect(c.alone).toBe(false);
    const d = alone();
    d.answered(d.heartbeat()!, 2);
    expect(d.alone).toBe(false);
  });

  test("an instance with company sends no heartbeat", () => {
    expect(new Company().heartbeat()).toBeNull();
  });
});
