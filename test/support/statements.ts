import type {
  KyselyPlugin,
  OperationNode,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely';

/** The table a statement names first, for a readable account of what ran. */
function tableOf(node: OperationNode): string {
  const text = JSON.stringify(node);
  return (
    /"kind":"TableNode","table":\{"kind":"SchemableIdentifierNode","identifier":\{"kind":"IdentifierNode","name":"([^"]+)"/.exec(
      text,
    )?.[1] ?? '?'
  );
}

/**
 * Counts the statements the app executes (pass it to startTestServer's `plugins`): every query
 * Kysely runs, raw ones included, in a transaction or not. `during` tells what one piece of work
 * issued; the server must be otherwise idle (its timers set far apart) for the count to be its.
 */
export class StatementCounter implements KyselyPlugin {
  /** Each executed statement as `<kind> <table>`, in order. */
  readonly executed: string[] = [];
  readonly #pending = new WeakMap<object, string>();

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    this.#pending.set(
      args.queryId,
      `${args.node.kind.replace(/QueryNode$|Node$/, '')} ${tableOf(args.node)}`,
    );
    return args.node;
  }

  transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    this.executed.push(this.#pending.get(args.queryId) ?? '?');
    return Promise.resolve(args.result);
  }

  /** Resolves once no statement has run for `quietMs` (work that events set off has ended). */
  async quiet(quietMs = 300, timeoutMs = 15_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (let seen = -1; seen !== this.executed.length && Date.now() < until;) {
      seen = this.executed.length;
      await new Promise((resolve) => setTimeout(resolve, quietMs));
    }
  }

  /** The statements executed while `work` ran. */
  async during<T>(work: () => Promise<T>): Promise<{ result: T; statements: string[] }> {
    const from = this.executed.length;
    const result = await work();
    return { result, statements: this.executed.slice(from) };
  }
}
