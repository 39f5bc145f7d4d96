// When the host restarts a crashed engine worker and when it gives up. No 'vscode' import.

/** Restarts after each crash, unless more than `maxCrashes` happened within `windowMs`: then the worker is crash-looping. */
export class RestartPolicy {
  private crashTimes: number[] = [];
  private warned = false;

  constructor(private readonly maxCrashes = 3, private readonly windowMs = 60_000) {}

  /** Records a crash at `now`; says whether to restart and whether to tell the user (the first time only). */
  onCrash(now: number): { restart: boolean; warnUser: boolean; recentCrashes: number } {
    this.crashTimes = [...this.crashTimes.filter((time) => now - time < this.windowMs), now];
    const restart = this.crashTimes.length <= this.maxCrashes;
    const warnUser = restart && !this.warned;
    if (warnUser) this.warned = true;
    return { restart, warnUser, recentCrashes: this.crashTimes.length };
  }

  /** After a deliberate restart (Reset Model) old crashes no longer count. */
  reset(): void {
    this.crashTimes = [];
  }
}
