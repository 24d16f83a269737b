/** JetStream's "wrong last sequence": a compare-and-set lost against another writer. */
export function isWrongLastSequence(e: unknown): boolean {
  const err = e as { api_error?: { err_code?: number }; message?: string } | undefined;
  return err?.api_error?.err_code === 10071 || /wrong last sequence/i.test(err?.message ?? '');
}
