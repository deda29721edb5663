// The package `ebpf-lab` the notebooks import (notebooks/node_modules/ebpf-lab, written by ./lab): the
// bpf() layer, the examples' own modules and what the notebooks show. The logic lives in those tested
// modules; a notebook imports it and explains.

export * from '../../bpf/ts/index.js';
export { htmlTable, textTable, sideBySide, twoColumns, pre, projectSources, type SourceFile } from "./show.js";
export { runExecs, runTool, sleep, type ToolRun } from "./execs.js";
export { explainRejection, type Rejection } from "../../bpf/ts/explain.js";
export { flagTable, FLAG_TABLE_TYPES, OPERATIONS as FLAG_OPERATIONS } from "./maps.js";
export { tools, type ToolInfo } from "../engine/tools.js";
export { counterProgram, ExecCounter } from "../../bpf/counter/counter.js";
export { compare, type NotebookCompare } from "./compare.js";
export { HelloWorld } from "../../bpf/hello/hello.js";
export { kernelLayout, type Layout } from "../../bpf/execsnoop/execsnoop.js";
export { projectRoot } from "../engine/paths.js";
export { lastMatrix, matrixMarkdown, matrixTable, type Column } from "../commands/matrix.js";
export { runBench, benchCharts, formatBench, benchRows, type BenchReport, type Chart } from "../bench/index.js";
export { kernelCheck, kernelSummary, needs, type KernelCheckRow } from './kernel-check.js';
export { recordBpfCalls, attrRows, ATTR_LAYOUTS, type RecordedCall } from './attr.js';
export { check11, check12, check21, check22, check31, check32, check41, check42 } from './exercises.js';
export { ProgLoadAttr, MapCreateAttr, MapElemAttr } from '../../bpf/ts/attr.js';
export { runCourseProgram, compileC, tryCompile, type CourseRun, type Compiled } from './course.js';
