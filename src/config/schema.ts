import { z } from 'zod';

/**
 * The service's whole configuration. Defaults run out of the box; a file, the environment and
 * command-line flags override them in that order (see load.ts). Types derive from the schema.
 */
const port = z.number().int().min(0).max(65535);

/** A URL, or undefined where it does not parse (zod runs refinements after a failed `.url()` too). */
function parsedUrl(u: string): URL | undefined {
  try {
    return new URL(u);
  } catch {
    return undefined;
  }
}

/** `model.remote`: where the server is and how this node talks to it (docs/SCALING.md). */
const remoteSchema = z
  .object({
    /** Base URL of the server's HTTP/REST endpoint, e.g. `http://triton:8000` (a path prefix is kept). */
    url: z
      .string()
      .url()
      .refine((u) => /^https?:$/.test(parsedUrl(u)?.protocol ?? ''), 'must be an http:// or https:// URL')
      .refine((u) => !parsedUrl(u)?.username && !parsedUrl(u)?.password, 'must not carry credentials; use model.remote.token'),
    /** Model of the visual graph. Default `<card name>-visual`, as `avloc export triton` names it. */
    visualModel: z.string().min(1).optional(),
    /** Model of the audio graph. Default `<card name>-audio`, as `avloc export triton` names it. */
    audioModel: z.string().min(1).optional(),
    /** Deadline of one request (start-up checks and each batch), ms; a batch that misses it is dropped and counted. */
    timeoutMs: z.number().int().min(1).max(60_000).default(1000),
    /** Requests this node has outstanding at once; past it a batch is refused (counted), never queued. */
    maxInFlight: z.number().int().min(1).max(64).default(4),
    /** Sent as `Authorization: Bearer <token>` (env AVLOC_REMOTE_TOKEN keeps it out of files). */
    token: z.string().min(1).optional(),
  })
  .strict();

/**
 * `cluster`: several nodes acting as one service over Redis (docs/SCALING.md). Off without `redis`.
 * A node claims each stream id it runs in Redis for `claimTtlMs`, renews the claim every
 * `heartbeatMs`, reads the directory every `pollMs`, and fans its heatmaps out over pub/sub.
 */
const clusterSchema = z
  .object({
    /** `redis://[user:password@]host:port[/db]` (or `rediss://`); unset: a single node, no cluster. */
    redis: z
      .string()
      .url()
      .refine((u) => /^rediss?:$/.test(parsedUrl(u)?.protocol ?? ''), 'must be a redis:// or rediss:// URL')
      .optional(),
    /**
     * This node's name in the directory, in logs and in `/api/streams`. Unset: `<hostname>:<http.port>`,
     * or `<hostname>:<random>` when the port is 0 (src/cluster/node-id.ts).
     */
    nodeId: z
      .string()
      .regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be 1-128 characters of A-Z a-z 0-9 . _ : -')
      .optional(),
    /** Prefix of every key and channel, so that several clusters (or tests) can share one Redis. */
    keyPrefix: z
      .string()
      .regex(/^[A-Za-z0-9._:-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 . _ : -')
      .default('avloc:'),
    /** A claim not renewed for this long expires: how long a dead node's stream ids stay taken. */
    claimTtlMs: z.number().int().min(500).max(600_000).default(5000),
    /** How often this node renews its claims (compare-and-extend); at most half of claimTtlMs. */
    heartbeatMs: z.number().int().min(50).max(300_000).default(1000),
    /** How often this node reads the directory: how soon it sees a stream of a lost node end. */
    pollMs: z.number().int().min(50).max(300_000).default(1000),
    /** Deadline of one Redis command; a command past it fails (the node carries on). */
    commandTimeoutMs: z.number().int().min(50).max(60_000).default(1000),
    /** Pub/sub messages this node may have sent and not yet seen acknowledged; past it they are dropped (counted). */
    maxPendingMessages: z.number().int().min(1).max(100_000).default(64),
    /** Bytes of such messages at most (previews are the big ones); past it they are dropped (counted). */
    maxPendingBytes: z.number().int().min(64 * 1024).max(1024 * 1024 * 1024).default(8 * 1024 * 1024),
  })
  .strict()
  .refine((c) => c.heartbeatMs * 2 <= c.claimTtlMs, {
    message: 'cluster.heartbeatMs must be at most half of cluster.claimTtlMs (a claim must survive one missed heartbeat)',
    path: ['heartbeatMs'],
  });

export const configSchema = z
  .object({
    http: z
      .object({
        /** Loopback by default; another address needs auth on, or auth.allowAnonymous. */
        host: z.string().default('127.0.0.1'),
        port: port.default(8080),
        /** Browser origins allowed to use the WebSocket and WHIP besides the service's own (`*`: any). */
        allowedOrigins: z.array(z.string().min(1)).max(64).default([]),
        /**
         * Requests one client address may make to REST and WHIP per window (the viewer's static
         * files are not counted); past it they get 429 with Retry-After. `max: 0` turns it off.
         */
        rateLimit: z
          .object({
            max: z.number().int().min(0).max(1_000_000).default(120),
            windowMs: z.number().int().min(100).max(3_600_000).default(10_000),
          })
          .strict()
          .default({}),
      })
      .strict()
      .default({}),
    rtmp: z
      .object({
        enabled: z.boolean().default(true),
        host: z.string().default('127.0.0.1'),
        port: port.default(1935),
      })
      .strict()
      .default({}),
    model: z
      .object({
        /** A model bundle folder (docs/MODEL_CONTRACT.md). Relative paths resolve against the working directory. */
        dir: z.string().default('models/avin-centernet'),
        device: z.enum(['cpu', 'cuda']).default('cpu'),
        /** Threads inside one ONNX Runtime op; 0: measured per model at start on the CPU (src/inference/thread-choice.ts). */
        intraOpThreads: z.number().int().min(0).max(256).default(0),
        interOpThreads: z.number().int().min(0).max(256).default(1),
        /** Run inference in a worker thread, off the event loop that relays RTMP and reads the decoders (false: in-process). */
        worker: z.boolean().default(true),
        /**
         * Run both graphs once at every batch size up to pipeline.maxBatch before taking streams
         * (src/inference/warmup.ts): the memory high-water mark and each shape's first-call cost
         * are paid at start, so streams coming and going cannot push memory above it.
         */
        warmup: z.boolean().default(true),
        /**
         * Send the batches to a KServe v2 / Open Inference Protocol server (e.g. Triton) instead of
         * running ONNX Runtime here. `dir` still names the bundle: its model.json is the contract
         * the server's models are checked against (its .onnx files are not opened). `device`, the
         * thread counts and `worker` do not apply then.
         */
        remote: remoteSchema.optional(),
      })
      .strict()
      .default({}),
    pipeline: z
      .object({
        /** Largest inference batch across streams. */
        maxBatch: z.number().int().min(1).max(256).default(8),
        /**
         * Live service: batches no larger than the smallest size whose cost per frame, timed at
         * warm-up, is within 10 % of the cheapest (src/inference/warmup.ts, efficientBatch);
         * maxBatch stays the bound. Where a frame costs the same in any batch (a small CPU) batches
         * stay small and latency low; where batching pays (a GPU) they stay large. Needs model.warmup.
         */
        adaptiveBatch: z.boolean().default(true),
        /** How long the first ready frame may wait for others to join its batch. */
        maxWaitMs: z.number().min(0).max(1000).default(5),
        /** A frame still waiting this long after it entered the scheduler is dropped as stale. */
        deadlineMs: z.number().min(10).max(60_000).default(1000),
        /** Media time between two audio-embedding updates of a stream. */
        audioCadenceMs: z.number().min(1).max(10_000).default(250),
        /**
         * At most this many analyzed frames per second per stream (0: every frame the model keeps up
         * with). Frames past it leave the decoder right after decoding: no scaling, colour conversion,
         * preview or pipe copy is spent on them (the H.264 decode itself still runs).
         */
        maxFpsPerStream: z.number().min(0).max(240).default(0),
        /**
         * When the model cannot take every frame of every stream, lower each stream's analyzed
         * frames per second to its share of what the model measurably does (a little more, so it is
         * never idle), inside the running decoder: the frames it would skip are then never scaled,
         * converted or copied (src/pipeline/analysis-rate.ts). false: decode every frame, skip late.
         */
        adaptiveRate: z.boolean().default(true),
        /** How long a frame may wait for the audio up to its presentation time. */
        avSyncMaxWaitMs: z.number().min(0).max(5000).default(250),
      })
      .strict()
      .default({}),
    preview: z
      .object({
        /** JPEG previews of analyzed frames, sent to subscribers that ask for them. */
        enabled: z.boolean().default(true),
        height: z.number().int().min(32).max(2160).default(360),
        /**
         * At most this many previews per second per stream (0: one with every frame). JPEG encoding
         * every frame of a 30 fps camera costs as much CPU as decoding it; a viewer needs fewer.
         */
        maxFps: z.number().min(0).max(240).default(15),
      })
      .strict()
      .default({}),
    clients: z
      .object({
        /** Heatmap messages a slow client may have queued before the oldest is dropped. */
        queueLimit: z.number().int().min(1).max(1024).default(8),
      })
      .strict()
      .default({}),
    limits: z
      .object({
        /**
         * Live streams at once, RTMP and WHIP together: each costs a decoder process. Past it a
         * publisher is refused before a decoder starts (RTMP: disconnected; WHIP: 503).
         */
        maxStreams: z.number().int().min(1).max(1024).default(16),
      })
      .strict()
      .default({}),
    auth: z
      .object({
        /** Shared secret for HS256 tokens (`avloc token`); with it, every door needs a token. */
        secret: z.string().min(32, 'auth.secret must be at least 32 bytes').optional(),
        /** An identity provider's JSON Web Key Set (RS/PS/ES/EdDSA tokens), instead of or beside the secret. */
        jwksUrl: z.string().url().optional(),
        /** Required `iss` / `aud` claims, when set. */
        issuer: z.string().optional(),
        audience: z.string().optional(),
        /** Serve a non-loopback address with no auth at all (anyone who can reach it may publish and watch). */
        allowAnonymous: z.boolean().default(false),
      })
      .strict()
      .default({}),
    viewer: z
      .object({
        /** Folder with the built web viewer, served at `/`. */
        dir: z.string().default('web-viewer/dist'),
      })
      .strict()
      .default({}),
    cluster: clusterSchema.default({}),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type ClusterConfig = Config['cluster'];
