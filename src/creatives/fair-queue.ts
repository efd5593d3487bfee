/**
 * Runs at most `concurrency` tasks at once, and lets the waiting ones in fairly across owners: next
 * is the owner with the fewest tasks running, and among those the one served least recently. So
 * one owner's backlog delays another owner's first task by at most one task (the one that frees a
 * slot), where a first-come queue would make it wait for the whole backlog. p-limit and p-queue
 * queue in arrival or priority order, not per owner, hence this one.
 */
export class FairQueue<Owner> {
  private running = 0;
  private readonly owners = new Map<Owner, { running: number; waiting: (() => void)[]; lastStarted: number }>();
  private starts = 0;

  constructor(private readonly concurrency: number) {}

  /** Tasks waiting for a slot, all owners together. */
  get waitingCount(): number {
    let waiting = 0;
    for (const state of this.owners.values()) waiting += state.waiting.length;
    return waiting;
  }

  async run<T>(owner: Owner, task: () => Promise<T>): Promise<T> {
    const state = this.stateOf(owner);
    if (this.running < this.concurrency) this.start(owner);
    else await new Promise<void>((resolve) => state.waiting.push(resolve));
    try {
      return await task();
    } finally {
      this.finish(owner);
    }
  }

  private stateOf(owner: Owner) {
    let state = this.owners.get(owner);
    if (!state) this.owners.set(owner, (state = { running: 0, waiting: [], lastStarted: 0 }));
    return state;
  }

  private start(owner: Owner): void {
    const state = this.stateOf(owner);
    this.running++;
    state.running++;
    state.lastStarted = ++this.starts;
  }

  private finish(owner: Owner): void {
    const state = this.stateOf(owner);
    this.running--;
    state.running--;
    if (state.running === 0 && state.waiting.length === 0) this.owners.delete(owner);
    this.startNext();
  }

  private startNext(): void {
    while (this.running < this.concurrency) {
      let next: Owner | undefined;
      let best: { running: number; lastStarted: number } | undefined;
      for (const [owner, state] of this.owners) {
        if (state.waiting.length === 0) continue;
        if (!best || state.running < best.running || (state.running === best.running && state.lastStarted < best.lastStarted)) {
          next = owner;
          best = state;
        }
      }
      if (next === undefined) return;
      this.start(next);
      this.owners.get(next)!.waiting.shift()!();
    }
  }
}
