// What a node needs to open a composite's inside (the App provides it): `open(componentId)`.

import { createContext } from "react";

export const OpenCompositeContext = createContext<(componentId: string) => void>(() => undefined);
