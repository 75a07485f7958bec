"""A notebook open in a JupyterLab page, as the browser modules drive it: its kernel,
its cells, its outputs."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tests.support import wait_until

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    """wait_until at a pace that suits a browser (each check is a round trip to it)."""
    return wait_until(predicate, timeout, what, interval=0.1)


class Notebook:
    """The notebook panel in the page: its kernel, its cells, its widgets."""

    PANEL = """(path) => {
      const app = window.jupyterapp;
      for (const w of app.shell.widgets('main')) {
        if (w.context && w.context.path === path) { return w; }
      }
      return null;
    }"""

    def __init__(self, page: Any, path: str) -> None:
        self.page = page
        self.path = path

    def js(self, body: str, arg: Any = None) -> Any:
        """Evaluate ``body`` (using ``panel``, ``arg``) with the notebook panel at hand."""
        find = f"({self.PANEL})({json.dumps(self.path)})"
        script = f"async (arg) => {{ const panel = {find}; {body} }}"
        return self.page.evaluate(script, arg)

    def cell_running(self, text: str) -> bool:
        """Whether the cell whose source contains ``text`` is executing now (``[*]``).

        (The kernel status shown by JupyterLab is no indicator: a widget's comm traffic
        makes it flicker to idle while a cell runs.)"""
        return bool(
            self.js(
                """
                for (const cell of panel.content.widgets) {
                  const source = cell.model.sharedModel.getSource();
                  if (cell.model.type === 'code' && source.includes(arg)) {
                    return cell.model.executionState === 'running';
                  }
                }
                return false;""",
                text,
            )
        )

    def run_all(self) -> None:
        self.js("window.jupyterapp.commands.execute('notebook:run-all-cells'); return null;")

    def kernel_eval(self, code: str, timeout: float = 60, resend: bool = True) -> str:
        """Run ``code`` in the kernel (waits while it is busy); its text/plain result.

        The request's state lives on ``window`` and is polled, rather than awaited in one
        ``page.evaluate``: JupyterLab disposes a kernel's pending futures when its
        connection is re-established, and a disposed future's ``done`` never settles
        (Playwright then fails with "Resulting promise was garbage collected"). A
        disposed request is sent again, unless ``resend`` is false (``code`` changes
        state): then the loss is an error. While the session has no kernel (between two),
        the request waits for one."""
        send = """
          const kernel = panel.sessionContext.session?.kernel;
          if (!kernel) { return -1; }  // between two kernels: send again
          const future = kernel.requestExecute({ code: arg, store_history: false });
          const state = { future, done: false, out: '', err: null };
          future.onIOPub = msg => {
            const c = msg.content;
            if (msg.header.msg_type === 'execute_result') { state.out += c.data['text/plain']; }
            if (msg.header.msg_type === 'stream') { state.out += c.text; }
            if (msg.header.msg_type === 'error') { state.err = c.ename + ': ' + c.evalue; }
          };
          future.done.then(
            () => { state.done = true; },
            e => { state.err = state.err || String(e); state.done = true; },
          );
          window.__fjEvals = window.__fjEvals || [];
          window.__fjEvals.push(state);
          return window.__fjEvals.length - 1;"""
        poll = """(i) => {
          const s = window.__fjEvals[i];
          return { done: s.done, lost: !s.done && s.future.isDisposed, out: s.out, err: s.err };
        }"""
        states: list[dict[str, Any]] = []

        def finished() -> bool:
            if states[-1]["index"] < 0:
                states.append({"index": self.js(send, code)})
                return False
            state = self.page.evaluate(poll, states[-1]["index"])
            if state["lost"]:
                assert resend, f"the kernel connection dropped while running {code!r}"
                states.append({"index": self.js(send, code)})
                return False
            states[-1].update(state)
            return bool(state["done"])

        states.append({"index": self.js(send, code)})
        wait_for(finished, timeout, f"the kernel to evaluate {code!r}")
        if states[-1].get("err"):
            raise AssertionError(f"{code!r} raised in the kernel: {states[-1]['err']}")
        return str(states[-1]["out"])

    def errors(self) -> list[str]:
        """Error outputs of the notebook's cells."""
        return list(
            self.js(
                """
                const out = [];
                for (const cell of panel.content.widgets) {
                  const outputs = cell.model.outputs;
                  if (!outputs) { continue; }
                  for (let i = 0; i < outputs.length; i++) {
                    const o = outputs.get(i).toJSON();
                    if (o.output_type === 'error') { out.push(o.ename + ': ' + o.evalue); }
                  }
                }
                return out;"""
            )
        )
