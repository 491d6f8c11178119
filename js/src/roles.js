// Words for roles. Which controls a role sees is the kernel's decision: pages show a control
// when the `can` flags of the kernel's answer allow it (the kernel checks every request).

/** Words for a role, as a user reads them. @param {string | null | undefined} role */
export function roleLabel(role) {
  return role ? role.replace("_", " ") : "none";
}
