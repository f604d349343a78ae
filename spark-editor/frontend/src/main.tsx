import { createRoot } from "react-dom/client";
import "@xyflow/react/dist/style.css";
import "./styles.css";
import { App } from "./App";
import { Viewer } from "./viewer/Viewer";

// one bundle, two pages: the run viewer on /view, the editor everywhere else
createRoot(document.getElementById("root")!).render(location.pathname === "/view" ? <Viewer /> : <App />);
