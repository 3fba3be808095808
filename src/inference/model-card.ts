import { z } from 'zod';

/**
 * The schema of a bundle's model.json (docs/MODEL_CONTRACT.md, version 1). Every field the contract
 * lists is required; extra fields are kept (passthrough) so bundles can say more. Types come from
 * the schema, so what is checked and what the code sees cannot drift apart.
 */
const positiveInt = z.number().int().positive();
/** A bare file name inside the bundle folder: no path separators, no `..`. */
const fileInBundle = z
  .string()
  .min(1)
  .refine((f) => !/[\\/]/.test(f) && f !== '.' && f !== '..', 'must be a file name inside the bundle folder');

export const visualCardSchema = z
  .object({
    file: fileInBundle,
    input: z.string().min(1),
    output: z.string().min(1),
    height: positiveInt,
    width: positiveInt,
    channels: positiveInt,
    grid: z.tuple([positiveInt, positiveInt]),
  })
  .passthrough();

export const audioCardSchema = z
  .object({
    file: fileInBundle,
    input: z.string().min(1),
    output: z.string().min(1),
    sampleRate: positiveInt,
    windowSeconds: z.number().positive().max(60),
    channels: positiveInt,
  })
  .passthrough();

/**
 * Optional: how to turn a frame's peak cosine and audio level into P(something in view is sounding) — a logistic
 * fit made by the toolkit on its validation split (silence, noise and off-screen sounds against
 * scenes with their own sound). A bundle without it gets `sounding: null` in every heatmap.
 */
export const soundingCardSchema = z
  .object({
    score: z.literal('peak'),
    // z = a·(peak cosine) + level·(window RMS in dBFS, floored at -100) + b
    logistic: z.object({ a: z.number().finite(), b: z.number().finite(), level: z.number().finite().optional() }),
  })
  .passthrough();

export const modelCardSchema = z
  .object({
    format: z.literal('avloc-model/1'),
    name: z.string().min(1),
    version: z.string().min(1),
    method: z.string().min(1),
    visual: visualCardSchema,
    audio: audioCardSchema,
    opset: positiveInt,
    training: z
      .object({ data: z.string(), epochs: z.number().int().nonnegative(), seed: z.number().int(), commit: z.string() })
      .passthrough(),
    // Metric names and kinds vary by method; the split is what makes the numbers mean something.
    metrics: z.object({ split: z.string() }).passthrough(),
    license: z.string().min(1),
    sounding: soundingCardSchema.optional(),
  })
  .passthrough()
  .superRefine((card, ctx) => {
    // The heatmap is a dot product over C: the two graphs must agree on it.
    if (card.visual.channels !== card.audio.channels) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['audio', 'channels'],
        message: `must equal visual.channels (${card.visual.channels}), got ${card.audio.channels}`,
      });
    }
    // Some toolkits also state T; where they do, it must agree with windowSeconds × sampleRate.
    const samples = (card.audio as Record<string, unknown>).samples;
    const T = Math.round(card.audio.windowSeconds * card.audio.sampleRate);
    if (samples !== undefined && samples !== T) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['audio', 'samples'],
        message: `must equal audio.windowSeconds × audio.sampleRate (${T}) when given, got ${JSON.stringify(samples)}`,
      });
    }
    if (card.visual.file === card.audio.file) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['audio', 'file'], message: 'must differ from visual.file' });
    }
  });

export type ModelCard = z.infer<typeof modelCardSchema>;
export type SoundingCard = z.infer<typeof soundingCardSchema>;
export type VisualCard = z.infer<typeof visualCardSchema>;
export type AudioCard = z.infer<typeof audioCardSchema>;

/** Samples in one audio window: T = round(windowSeconds × sampleRate). */
export function windowSamples(card: ModelCard): number {
  return Math.round(card.audio.windowSeconds * card.audio.sampleRate);
}

/** One line per problem, `field.path: message`, for MODEL_INVALID errors. */
export function describeCardIssues(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
}
