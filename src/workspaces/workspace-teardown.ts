/**
 * The port through which deleting a workspace stops what runs live for it elsewhere (a QR-linked device's
 * session, for one). The workspaces domain only knows that something may need stopping; the runtime, which
 * owns the live parts, registers the hooks.
 */
export type WorkspaceTeardown = {
  /** Runs before the workspace's rows are deleted; a hook that throws stops the deletion. */
  beforeDelete(workspaceId: string): Promise<void>
}
