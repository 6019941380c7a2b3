/** One base class for the project's errors: a stable code, a message for people, and a cause chain. */
export class SeqnetError<Code extends string = string> extends Error {
  constructor(
    readonly code: Code,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SeqnetError';
  }
}

/** JSON-RPC error codes as geth uses them. */
export const RpcCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  Internal: -32603,
  /** geth's generic server error: tx pool rejections, execution errors, unknown blocks. */
  Server: -32000,
  ResourceNotFound: -32001,
  LimitExceeded: -32005,
  /** eth_call / eth_estimateGas revert, with the revert data in `data`. */
  ExecutionReverted: 3,
} as const;

/** An error that the RPC layer returns to the client as-is. */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'RpcError';
  }
}

export const invalidParams = (message: string): RpcError => new RpcError(RpcCode.InvalidParams, message);
export const serverError = (message: string, data?: unknown): RpcError =>
  new RpcError(RpcCode.Server, message, data);
