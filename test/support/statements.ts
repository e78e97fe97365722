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

  /** The statements executed while `work` ran. */
  async during<T>(work: () => Promise<T>): Promise<{ result: T; statements: string[] }> {
    const from = this.executed.length;
    const result = await work();
    return { result, statements: this.executed.slice(from) };
  }
}
