import type { ErrorCode } from "../generated/protocol";

/** Codes the client adds to the server's ack error codes for failures on its own side. */
export type ClientErrorCode = "timeout" | "not_connected" | "invalid_ack";

/** A failed request: an `{ok: false}` ack, or no ack at all. */
export class RequestError extends Error {
  constructor(
    readonly code: ErrorCode | ClientErrorCode,
    message: string,
    readonly details?: Record<string, unknown> | null,
  ) {
    super(message);
    this.name = "RequestError";
  }
}

/** Discovery, login or token provider failed: nothing about the socket can be tried yet. */
export class SetupError extends Error {
  constructor(
    readonly code: "discovery_failed" | "protocol_mismatch" | "login_failed" | "no_token_provider" | "token_failed",
    message: string,
  ) {
    super(message);
    this.name = "SetupError";
  }
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
