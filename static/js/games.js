// The instructor's list of games (templates/console/index.html): delete any game, after a
// confirmation (the form posts with the CSRF token; the server checks the owner).

import { $all } from "./ui.js";
import { bindDeleteConfirm } from "./common.js";

for (const form of $all("form.delete-game")) bindDeleteConfirm(form);
