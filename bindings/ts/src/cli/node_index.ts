/// <reference types="node" />
/**
 * The package's entry point under Node.js (dist/index.js, what `require("lightflus")` returns):
 * the whole API, plus the deploy path of the original Lightflus. Loaded with LIGHTFLUS_ENDPOINT
 * (or LIGHTFLUS_SERVICE_HOST) set, it makes `execute()` deploy the running script to that server
 * (deploy.ts); otherwise it is exactly the API of src/index.ts.
 */
import { installNodeDeployer } from "./deploy";

export * from "../index";

installNodeDeployer();
