import type { StockLedger } from './stockLedger';

/** When a SKU falls to its reorder threshold, order enough to reach the target level. */
export class ReorderPolicy {
  constructor(
    private readonly reorderThreshold: number,
    private readonly targetLevel: number,
    private readonly restockBatchSize: number,
  ) {}

  quantityToOrder(ledger: StockLedger, sku: string): number {
    const onHand = ledger.quantityOnHand(sku);
    if (onHand > this.reorderThreshold) return 0;
    const missing = this.targetLevel - onHand;
    return Math.ceil(missing / this.restockBatchSize) * this.restockBatchSize;
  }
}
