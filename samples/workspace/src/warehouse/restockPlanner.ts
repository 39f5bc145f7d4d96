import { BinLocator } from './binLocator';
import { ReorderPolicy } from './reorderPolicy';
import { StockLedger } from './stockLedger';

/** Plans tonight's restock: which SKUs to order and which bins to refill first. */
export function planRestock(skus: readonly string[]): { sku: string; order: number; bins: string[] }[] {
  const ledger = new StockLedger();
  const reorderPolicy = new ReorderPolicy(5, 40, 12);
  const binLocator = new BinLocator();
  ledger.record({ sku: 'WIDGET-7', binId: 'A12-S3-04', quantity: 3, pickWaveId: 'W-001' });
  ledger.record({ sku: 'GADGET-2', binId: 'B02-S1-11', quantity: 25 });
  return skus.map((sku) => ({
    sku,
    order: reorderPolicy.quantityToOrder(ledger, sku),
    bins: binLocator.walkingOrder(ledger.binsHolding(sku)),
  }));
}
