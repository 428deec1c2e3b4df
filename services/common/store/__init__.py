"""Store ports (one interface per aggregate) and the adapters that implement them."""
