import { z } from 'zod';

/**
 * The Open Inference Protocol (KServe v2) JSON objects this client reads, as zod schemas: model
 * metadata, the inference response and the error object. Only what the client relies on is
 * required; other fields (parameters, platform, versions) may be there or not.
 */
export const tensorMetadataSchema = z
  .object({
    name: z.string(),
    datatype: z.string(),
    /** Variable-size dims are -1. */
    shape: z.array(z.number().int().min(-1)),
  })
  .passthrough();

export const modelMetadataSchema = z
  .object({
    name: z.string(),
    versions: z.array(z.string()).optional(),
    platform: z.string().optional(),
    inputs: z.array(tensorMetadataSchema),
    outputs: z.array(tensorMetadataSchema),
  })
  .passthrough();

export const responseOutputSchema = z
  .object({
    name: z.string(),
    shape: z.array(z.number().int().nonnegative()),
    datatype: z.string(),
    /** Row-major, flat or nested as the shape (the protocol allows both). */
    data: z.array(z.unknown()),
  })
  .passthrough();

export const inferResponseSchema = z
  .object({
    model_name: z.string().optional(),
    model_version: z.string().optional(),
    id: z.string().optional(),
    outputs: z.array(responseOutputSchema),
  })
  .passthrough();

export const errorResponseSchema = z.object({ error: z.string() }).passthrough();

export type TensorMetadata = z.infer<typeof tensorMetadataSchema>;
export type ModelMetadata = z.infer<typeof modelMetadataSchema>;
export type InferResponse = z.infer<typeof inferResponseSchema>;

/** Zod issues in one line, `path: message; …` (the card's formatter serves any schema). */
export { describeCardIssues as describeIssues } from '../model-card.ts';
