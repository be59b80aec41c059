"""A real SMTP server for the alert tests (aiosmtpd): listens on 127.0.0.1, port 0, prints its
port on the first line of stdout, requires AUTH (PLAIN/LOGIN) with the user and password given,
and appends one JSON line per message received to the output file:
{"mail_from", "rcpt_tos", "subject", "authenticated", "headers", "body"}.

usage: smtp_sink.py OUT_FILE USER PASSWORD
"""

import asyncio
import email
import email.policy
import json
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def main():
    # AUTH without TLS is what the test wants (loopback only); say nothing about it.
    warnings.filterwarnings("ignore")
    import logging
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    out, user, password = sys.argv[1], sys.argv[2].encode(), sys.argv[3].encode()

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
            record = {
                "mail_from": envelope.mail_from,
                "rcpt_tos": envelope.rcpt_tos,
                "subject": str(msg["subject"]),
                "authenticated": bool(session.authenticated),
                "headers": {k: str(v) for k, v in msg.items()},
                "body": msg.get_body(preferencelist=("plain",)).get_content(),
            }
            with open(out, "a") as f:
                f.write(json.dumps(record) + "\n")
            return "250 OK"

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == user and auth_data.password == password
        return AuthResult(success=ok)

    async def serve():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SMTP(Handler(), authenticator=authenticator, auth_required=True,
                         auth_require_tls=False),
            "127.0.0.1", 0)
        print(server.sockets[0].getsockname()[1], flush=True)
        await server.serve_forever()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
