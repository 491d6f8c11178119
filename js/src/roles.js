// Which controls a role sees. Only a matter of display: the kernel checks every request.

export const ROLES = ["restricted_viewer", "viewer", "member", "admin"];

/**
 * Whether `role` is at least `minimal` ("restricted_viewer" < "viewer" < "member" < "admin").
 *
 * @param {string | null | undefined} role
 * @param {"restricted_viewer" | "viewer" | "member" | "admin"} minimal
 */
export function atLeast(role, minimal) {
  const have = ROLES.indexOf(role ?? "");
  return have >= 0 && have >= ROLES.indexOf(minimal);
}

/** Words for a role, as a user reads them. @param {string | null | undefined} role */
export function roleLabel(role) {
  return role ? role.replace("_", " ") : "none";
}
