/**
 * Preloaded with `node --import` into a CLI process by tests: its onnxruntime
 * sessions write their profiles into the folder named by
 * ZFNET_TEST_ONNX_PROFILE_DIR (see session-profile.ts).
 */
import { PROFILE_DIR_ENV, profileSessions } from './session-profile.js';

const dir = process.env[PROFILE_DIR_ENV];
if (dir !== undefined && dir !== '') profileSessions(dir);
