import { createContext } from "react";

/** Canvas ids of the nodes that have validation problems (drawn with a red outline). */
export const ProblemNodesContext = createContext<Set<string>>(new Set());
