/** Aisle, shelf and slot of a bin, parsed from ids such as "A12-S3-04". */
export interface BinLocation {
  aisle: string;
  shelf: number;
  slot: number;
}

export class BinLocator {
  private static readonly pattern = /^([A-Z]\d+)-S(\d+)-(\d+)$/;

  locate(binId: string): BinLocation {
    const match = BinLocator.pattern.exec(binId);
    if (match === null) throw new Error(`Bin id ${binId} is not of the form A12-S3-04.`);
    return { aisle: match[1], shelf: Number(match[2]), slot: Number(match[3]) };
  }

  /** Bins in walking order: by aisle, then shelf, then slot. */
  walkingOrder(binIds: readonly string[]): string[] {
    return [...binIds].sort((a, b) => {
      const left = this.locate(a);
      const right = this.locate(b);
      return left.aisle.localeCompare(right.aisle) || left.shelf - right.shelf || left.slot - right.slot;
    });
  }
}
