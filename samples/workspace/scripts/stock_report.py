"""Prints a stock report from a CSV export of the StockLedger: sku,bin_id,quantity."""
import csv
import sys
from collections import defaultdict


def read_on_hand(path):
    on_hand = defaultdict(int)
    with open(path, newline="") as export:
        for row in csv.DictReader(export):
            on_hand[row["sku"]] += int(row["quantity"])
    return on_hand


def main(path, reorder_threshold=5):
    for sku, quantity in sorted(read_on_hand(path).items()):
        flag = "REORDER" if quantity <= reorder_threshold else ""
        print(f"{sku:<12} {quantity:>6} {flag}")


if __name__ == "__main__":
    main(sys.argv[1])
