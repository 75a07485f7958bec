import { LabIcon } from '@jupyterlab/ui-components';

// An optical fibre carrying three wavelengths (the FUSION runs panel).
const runsSvg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M2 5.5h3.2c2.6 0 3.4 3 5 3s2.4-3 5-3H22v1.8h-6.8c-1.7 0-2.5 3-5 3s-3.3-3-5-3H2z"/>
    <path d="M2 11.1h3.2c2.6 0 3.4 3 5 3s2.4-3 5-3H22v1.8h-6.8c-1.7 0-2.5 3-5 3s-3.3-3-5-3H2z"/>
    <path d="M2 16.7h3.2c2.6 0 3.4 3 5 3s2.4-3 5-3H22v1.8h-6.8c-1.7 0-2.5 3-5 3s-3.3-3-5-3H2z"/>
  </g>
</svg>`;

export const runsIcon = new LabIcon({ name: 'fusion-jupyter:runs', svgstr: runsSvg });
