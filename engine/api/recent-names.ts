/** The last few names a caller gave its queries: enough for requests in flight, bounded however many come. */
export class RecentNames {
  private readonly names = new Set<string>();
  add(name: string): void {
    this.names.add(name);
    if (this.names.size > 100) this.names.delete(this.names.values().next().value as string);
  }
  has(name: string): boolean {
    return this.names.has(name);
  }
  delete(name: string): boolean {
    return this.names.delete(name);
  }
}
