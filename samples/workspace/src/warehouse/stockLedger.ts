/** One movement of stock in or out of a bin. */
export interface StockMovement {
  sku: string;
  binId: string;
  quantity: number;
  pickWaveId?: string;
}

/** Quantities on hand per SKU and bin, kept up to date from movements. */
export class StockLedger {
  private readonly onHand = new Map<string, Map<string, number>>();

  record(movement: StockMovement): void {
    const bins = this.onHand.get(movement.sku) ?? new Map<string, number>();
    bins.set(movement.binId, (bins.get(movement.binId) ?? 0) + movement.quantity);
    this.onHand.set(movement.sku, bins);
  }

  quantityOnHand(sku: string): number {
    let total = 0;
    for (const quantity of this.onHand.get(sku)?.values() ?? []) total += quantity;
    return total;
  }

  binsHolding(sku: string): string[] {
    return [...(this.onHand.get(sku)?.entries() ?? [])].filter(([, quantity]) => quantity > 0).map(([binId]) => binId);
  }
}
