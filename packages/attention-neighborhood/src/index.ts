/**
 * `@attnkit/attention-neighborhood`.
 *
 * @packageDocumentation
 */
export {};
