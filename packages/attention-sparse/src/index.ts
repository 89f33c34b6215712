/**
 * `@attnkit/attention-sparse`.
 *
 * @packageDocumentation
 */
export {};
