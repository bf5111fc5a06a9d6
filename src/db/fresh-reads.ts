/**
 * One read shared by callers who ask for the same thing at the same time, without ever answering
 * a caller from a read that began before it asked. A caller who finds no read of its key under way
 * starts one. A caller who finds one under way waits for the next: it starts once the running one
 * ends, and everyone who asked in the meantime shares it. So each answer is at least as fresh as a
 * read of one's own (it saw every commit made before the caller asked), and one key has at most
 * two reads outstanding however many callers wait: under load, 50 browsers asking for the same
 * librarian's slots cost two queries, not 50.
 */
export function freshReads<T>() {
  interface Flight {
    /** The read under way. */
    running?: Promise<T>;
    /** The read that starts when `running` ends, shared by everyone who asked since it began. */
    next?: Promise<T>;
  }
  const flights = new Map<string, Flight>();

  function start(key: string, flight: Flight, run: () => Promise<T>): Promise<T> {
    const running = run();
    flight.running = running;
    const settle = () => {
      if (flight.running === running) flight.running = undefined;
      if (!flight.running && !flight.next) flights.delete(key);
    };
    running.then(settle, settle);
    return running;
  }

  /** What `run` reads for `key` (the same key must mean the same read), begun no earlier than now. */
  return function read(key: string, run: () => Promise<T>): Promise<T> {
    let flight = flights.get(key);
    if (!flight) {
      flight = {};
      flights.set(key, flight);
    }
    const { running } = flight;
    if (!running) return start(key, flight, run);
    if (flight.next) return flight.next;
    const waiting = flight;
    const after = () => {
      waiting.next = undefined;
      return start(key, waiting, run);
    };
    // `next` is cleared as it starts: a caller who finds it set knows it has not started yet.
    waiting.next = running.then(after, after);
    return waiting.next;
  };
}
