/**
 * The avloc WebSocket protocol, version `avloc/2` (docs/PROTOCOL.md is the prose version).
 *
 * This file is the protocol's one import path: the Node server, the Node client and the browser
 * viewer (web-viewer/src) all import it, so its path stays put while the parts live under
 * protocol/, one concern each: the messages and their schemas (messages.ts), parsing and writing
 * text frames (text-frames.ts), the heatmap's shared and per-send parts (heatmap-parts.ts), its
 * binary and JSON formats (heatmap-binary.ts, heatmap-json.ts, heatmap-codec.ts), base64
 * (base64.ts) and the error every check throws (protocol-error.ts).
 *
 * Isomorphic on purpose: nothing here or under protocol/ uses Buffer or node: modules — only zod,
 * TextEncoder/TextDecoder and DataView.
 */
export {
  PROTOCOL_VERSION,
  HeatmapFormat,
  SubscribeMessage,
  UnsubscribeMessage,
  PingMessage,
  ClientMessage,
  StreamKind,
  StreamState,
  CountersSchema,
  StreamSummary,
  ModelInfo,
  HelloMessage,
  StreamsMessage,
  StreamStartedMessage,
  StreamEndedMessage,
  StreamInfoMessage,
  StreamErrorMessage,
  ErrorMessage,
  PongMessage,
  HeatmapJsonMessage,
  ServerTextMessage,
} from './protocol/messages.ts';
export type {
  StreamSelector,
  ClientMessageInput,
  StreamInfo,
  ControlMessage,
  Heatmap,
  HeatmapSource,
  PerSend,
} from './protocol/messages.ts';
export { parseClientMessage, parseServerText, encodeControl } from './protocol/text-frames.ts';
export type { EncodedHeatmap } from './protocol/heatmap-parts.ts';
export { BINARY_MAGIC, BINARY_VERSION, BINARY_LAYOUT, encodeHeatmapBinary, decodeHeatmapBinary } from './protocol/heatmap-binary.ts';
export { encodeHeatmapJson, heatmapFromJson } from './protocol/heatmap-json.ts';
export { encodeHeatmap, assembleHeatmap } from './protocol/heatmap-codec.ts';
export { base64Encode, base64Decode } from './protocol/base64.ts';
