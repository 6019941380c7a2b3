import { SeqnetError } from '../errors.js';

export const P2pErrorCode = {
  /** The private key is not a protobuf-encoded Ed25519 key. */
  BadKey: 'P2P_BAD_KEY',
  BadPeerId: 'P2P_BAD_PEER_ID',
  BadAddress: 'P2P_BAD_ADDRESS',
  /** publish/onMessage on a topic the network was not created with. */
  UnknownTopic: 'P2P_UNKNOWN_TOPIC',
  /** A payload over `maxFrameBytes`. */
  FrameTooLarge: 'P2P_FRAME_TOO_LARGE',
  /** The peer could not be reached, or the stream broke. */
  Unreachable: 'P2P_UNREACHABLE',
  /** No response within the request's timeout. */
  Timeout: 'P2P_TIMEOUT',
  /** The peer's handler failed, or it has no handler for the protocol. */
  Remote: 'P2P_REMOTE',
  /** The peer sent bytes that are not a valid frame. */
  BadFrame: 'P2P_BAD_FRAME',
  /** The network has been stopped. */
  Stopped: 'P2P_STOPPED',
} as const;
export type P2pErrorCode = (typeof P2pErrorCode)[keyof typeof P2pErrorCode];

export class P2pError extends SeqnetError<P2pErrorCode> {
  constructor(code: P2pErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'P2pError';
  }
}
