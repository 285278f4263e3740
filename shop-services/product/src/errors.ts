/** Domain errors of the product store; the routes turn them into HTTP errors. */
export class ProductStoreError extends Error {
  constructor(
    readonly code: 'sku_taken' | 'unknown_category' | 'duplicate_review',
    message: string,
  ) {
    super(message);
    this.name = 'ProductStoreError';
  }
}
