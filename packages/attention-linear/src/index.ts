/**
 * `@attnkit/attention-linear`.
 *
 * @packageDocumentation
 */
export {};
