/**
 * Interns token strings as dense integer ids so that the count-based and
 * neural models work on numbers. Ids are stable for the lifetime of the
 * vocabulary: forgetting a file never renumbers tokens.
 */
export class Vocabulary {
  private readonly idByToken = new Map<string, number>();
  private readonly tokenById: string[] = [];

  /** Returns the id of `token`, adding it when it is new. */
  intern(token: string): number {
    let id = this.idByToken.get(token);
    if (id === undefined) {
      id = this.tokenById.length;
      this.idByToken.set(token, id);
      this.tokenById.push(token);
    }
    return id;
  }

  internAll(tokens: readonly string[]): Int32Array {
    const ids = new Int32Array(tokens.length);
    for (let i = 0; i < tokens.length; i++) ids[i] = this.intern(tokens[i]);
    return ids;
  }

  /** The id of `token`, or -1 when it has never been interned. */
  idOf(token: string): number {
    return this.idByToken.get(token) ?? -1;
  }

  tokenOf(id: number): string {
    const token = this.tokenById[id];
    if (token === undefined) throw new RangeError(`Unknown token id ${id}.`);
    return token;
  }

  get size(): number {
    return this.tokenById.length;
  }
}
