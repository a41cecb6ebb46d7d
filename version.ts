/** The telebus version, as printed by `telebus --version`. */
export const VERSION = "0.1.0";
