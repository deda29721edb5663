#!/usr/bin/python3
"""Execute notebooks through real Jupyter (nbclient, the tslab kernel), each `--runs` times in one kernel
session, and write what every cell did as JSON (for the tap tests to assert on, and for `./lab notebook --render`,
which takes the executed copies written to `--executed`).

tslab reports a failing cell only by its execution status and stderr (no `error` output, and nbclient's
CellExecutionError carries an almost empty message), so each cell's stderr and status are recorded here.
Before the kernel is shut down, its leftovers are listed: BPF fds still open in the kernel process, and its
child processes. The next notebook's kernel is started while one runs: a tslab kernel takes ~40 s to start
under TCG, most of it on one CPU, while the cells mostly wait on a compiler or a tracer.
Usage: run_notebooks.py --out FILE [--runs N] [--executed DIR] [--cwd DIR] NOTEBOOK...
"""
import argparse, json, os, pathlib, sys, time
import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError
from nbclient.util import run_sync


def kernel_pid(client):
    prov = getattr(client.km, 'provisioner', None)
    proc = getattr(prov, 'process', None)
    if proc is not None:
        return proc.pid
    kernel = getattr(client.km, 'kernel', None)
    return getattr(kernel, 'pid', None)


def bpf_fds(pid):
    """The kernel process's fds that hold BPF objects or perf events: anon_inode:bpf-map, bpf-prog, bpf_link, [perf_event]."""
    out = []
    fd_dir = f'/proc/{pid}/fd'
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(f'{fd_dir}/{fd}')
        except OSError:
            continue
        if 'bpf' in target or 'perf_event' in target:
            out.append(f'{fd} -> {target}')
    return sorted(out)


def children(pid):
    """Processes whose parent is the kernel process (a tracer a cell started and did not stop)."""
    out = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            stat = pathlib.Path(f'/proc/{entry}/stat').read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(')') + 2:].split()
        if int(fields[1]) == pid:
            out.append(f'{entry} {stat[stat.index("(") + 1:stat.rindex(")")]}')
    return out


def outputs_of(cell):
    rec = {'stdout': '', 'stderr': '', 'html': [], 'png': 0}
    for o in cell.get('outputs', []):
        if o.get('output_type') == 'stream':
            rec[o['name']] += o.get('text', '')
        elif o.get('output_type') in ('display_data', 'execute_result'):
            data = o.get('data', {})
            if 'text/html' in data:
                rec['html'].append(data['text/html'])
            if 'image/png' in data:
                rec['png'] += 1
            if 'text/plain' in data:
                rec['stdout'] += data['text/plain']
        elif o.get('output_type') == 'error':
            rec['stderr'] += '\n'.join(o.get('traceback', []))
    return rec


def start_kernel(path, cwd):
    """Launches a tslab kernel for `path` and returns at once; NotebookClient waits for it to be ready."""
    km = AsyncKernelManager(kernel_name='tslab')
    run_sync(km.start_kernel)(cwd=cwd or str(pathlib.Path(path).parent))
    return km, time.monotonic()


def run_notebook(path, runs, executed_dir, timeout, cwd, kernel):
    km, started = kernel
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, km=km, timeout=timeout, startup_timeout=timeout,
                            resources={'metadata': {'path': cwd or str(pathlib.Path(path).parent)}})
    result = {'path': str(path), 'runs': []}
    with client.setup_kernel():
        result['kernelStartSeconds'] = round(time.monotonic() - started, 2)
        pid = kernel_pid(client)
        result['kernelPid'] = pid
        for r in range(runs):
            cells = []
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != 'code':
                    continue
                cell.outputs = []
                status, message = 'ok', ''
                started = time.monotonic()
                try:
                    client.execute_cell(cell, index)
                except CellTimeoutError as e:
                    status, message = 'timeout', str(e)[-500:]
                except CellExecutionError as e:
                    status, message = 'error', str(e)[-500:]
                rec = outputs_of(cell)
                rec.update({'index': index, 'status': status, 'message': message, 'source': cell.source,
                            'seconds': round(time.monotonic() - started, 2)})
                cells.append(rec)
            result['runs'].append({'cells': cells, 'seconds': round(sum(c['seconds'] for c in cells), 2)})
        # what the notebook left behind, while its kernel still runs
        result['leftovers'] = {'bpfFds': bpf_fds(pid) if pid else ['(kernel pid unknown)'], 'children': children(pid) if pid else []}
    if executed_dir:
        os.makedirs(executed_dir, exist_ok=True)
        nbformat.write(nb, os.path.join(executed_dir, pathlib.Path(path).name))
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', required=True)
    ap.add_argument('--runs', type=int, default=2)
    ap.add_argument('--executed')
    ap.add_argument('--timeout', type=int, default=240)
    ap.add_argument('--cwd', help="the kernel's working directory (default: the notebook's folder)")
    ap.add_argument('notebooks', nargs='+')
    a = ap.parse_args()
    results = []
    kernel = None
    for i, p in enumerate(a.notebooks):
        current, kernel = kernel, None
        try:
            current = current or start_kernel(p, a.cwd)
            if i + 1 < len(a.notebooks):
                try:
                    kernel = start_kernel(a.notebooks[i + 1], a.cwd)
                except Exception:  # tried again in its own turn, where its error is recorded
                    kernel = None
            results.append(run_notebook(p, a.runs, a.executed, a.timeout, a.cwd, current))
        except Exception as e:  # the kernel did not start or died: this notebook's result, not the others'
            results.append({'path': str(p), 'kernelPid': None, 'runs': [], 'failure': f'{type(e).__name__}: {e}',
                            'leftovers': {'bpfFds': [], 'children': []}})
        finally:
            if current:
                run_sync(current[0].shutdown_kernel)()
    pathlib.Path(a.out).write_text(json.dumps({'release': os.uname().release, 'notebooks': results}, indent=1))


if __name__ == '__main__':
    sys.exit(main())
