// s3_sign_suite.js -- AWS's SigV4 test suite, as shipped in the npm package
// @smithy/signature-v4 (dist-es/suite.fixture.js), printed as lines the C
// unit test test_storage_s3_sign.c reads.  Run by that test at test time:
//     node test/unit/s3_sign_suite.js <path of suite.fixture.js>
// The fixture is not copied into the repository; scripts/deps.sh installs
// the package.
//
// The fixture is an ES module ("export const ...") that node 18 (Debian 12)
// cannot require; its text is evaluated as a script in a context of its own
// instead, with each "export const" made a plain declaration.
//
// Output, one item per line, strings as hex of their UTF-8 bytes (so any
// byte survives):
//     region <hex>
//     service <hex>
//     credentials <access key hex> <secret hex>
//     date <YYYYMMDDTHHMMSSZ>
//     case <name hex>
//     method <hex>
//     path <hex>
//     query <name hex> <value hex>      (one per pair)
//     header <name hex> <value hex>     (one per header)
//     body <hex>                        (empty body: "body -")
//     authorization <hex>
//     end
//     count <number of cases>
"use strict";

const fs = require("fs");
const vm = require("vm");

const file = process.argv[2];
if (!file) {
	console.error("usage: node s3_sign_suite.js <suite.fixture.js>");
	process.exit(2);
}
const source = fs.readFileSync(file, "utf8");
const names = ["region", "service", "credentials", "signingDate", "requests"];
const script = source.replace(/^export const /gm, "const ") +
	"\n;({" + names.join(", ") + "});\n";
const suite = vm.runInNewContext(script, {exports: {}}, {filename: file});

const hex = (s) => (s === "" ? "-" : Buffer.from(String(s), "utf8").toString("hex"));
const out = [];

out.push("region " + hex(suite.region));
out.push("service " + hex(suite.service));
out.push("credentials " + hex(suite.credentials.accessKeyId) + " " +
	hex(suite.credentials.secretAccessKey));
const d = new Date(suite.signingDate);
out.push("date " + d.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z"));

for (const c of suite.requests) {
	const r = c.request;
	out.push("case " + hex(c.name));
	out.push("method " + hex(r.method));
	out.push("path " + hex(r.path));
	for (const [k, v] of Object.entries(r.query || {})) {
		for (const one of Array.isArray(v) ? v : [v]) {
			if (typeof one !== "string") {
				console.error(`case ${c.name}: query value of ${k} is not a string`);
				process.exit(1);
			}
			out.push("query " + hex(k) + " " + hex(one));
		}
	}
	for (const [k, v] of Object.entries(r.headers || {}))
		out.push("header " + hex(k) + " " + hex(v));
	out.push("body " + hex(r.body === undefined ? "" : r.body));
	out.push("authorization " + hex(c.authorization));
	out.push("end");
}
out.push("count " + suite.requests.length);
process.stdout.write(out.join("\n") + "\n");
