import { createContext } from "react";

/** Short labels drawn under a node, by node name (the run viewer puts each run's mean firing rate there). */
export const NodeBadgeContext = createContext<Map<string, string[]>>(new Map());
