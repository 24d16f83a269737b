import type { TaskDef } from '../define.js';
import { mdsCatchup } from './catchup.js';
import { mdsCheckup, mdsCheckupSingle } from './checkup.js';
import { ensureSafetyTask, ensureSafetyVpool } from './ensure-safety.js';

export const mdsTasks: TaskDef[] = [ensureSafetyTask, ensureSafetyVpool, mdsCatchup, mdsCheckup, mdsCheckupSingle];
