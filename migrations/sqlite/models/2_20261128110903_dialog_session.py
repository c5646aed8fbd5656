from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "dialog_session" (
    "openid" VARCHAR(64) NOT NULL PRIMARY KEY,
    "dialog" VARCHAR(32) NOT NULL,
    "step" VARCHAR(32) NOT NULL,
    "data" JSON NOT NULL,
    "misses" INT NOT NULL,
    "version" INT NOT NULL,
    "expires_at" TIMESTAMP,
    "updated_at" TIMESTAMP NOT NULL
) /* One row per openid. `version` makes saves compare-and-set across worker processes. */;"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "dialog_session";"""


MODELS_STATE = (
    "eJztXG1z2jgQ/isavlw6k2YISUjaubkZSGjLTQKZhL5MS8cVlgAPtuRachKm1/9+K2GM8Q"
    "vBJKaU8oVgadcyz0q7z67k/Cg5nFBbHFxY2OaDWyqExVnpNfpRYtih8CVdYB+VsOvOulWD"
    "xD1baxAtaoiIbE9ID5sSevvYFhSaCBWmZ7lyMlypzSjy+D1yqYe4S5lFDtC3O+qpO3xDDh"
    "5RgQS+g0+TOy726EvMyEtBJcKmx4VA99wbga7rcRPGpeJAjUu4CQNbbFDcED6zvvvUkHxA"
    "5ZB6MNCXr9BsMUIfqJheuiOjb1GbzCE7eQh1E91nyLGr28+H2HujpdVP6Bkmt32HzWu4Yz"
    "nkLFSBX6laB5RRD0tKIkAz37YDy0ybJs8MDdLzafiwZNZAaB/7tjKX0p48xaytZBitdse4"
    "bXQMo5Qw5VQjAn3QZHKmpoHFpNA4OPjBsCkbyCFcVo9/TsaZYTGRUgN+qN2cv6vd7FWPX6"
    "gBOcylyVRrBT0V3fVT3wJLPLmJRn8G92Ra5oF7pvE8cE8bZnjPVkMIbmktcB9VloD7qJIJ"
    "t+pScM/gFZK6ecCdyu+gfRRaNaWT0P57225lzNtAPgYtsUyJ/kO2JWRhEP/d95mp8EM937"
    "KlxcSBGvafoqBfALXCR93ZEeK7HYV476r2KY7++WW7riHjQg48fRd9g3rMFI6lPH/SGE0m"
    "020xU4hZA35BUVYoFzXPB+oJXlYOj0+Pz46qx2cgop8ybDldYI9mqxMDMwi+OdCMaOzgjM"
    "NJH1wLpq6BZRLRC8BEWg5Nh3VeM+42AtWD6ZclcA54RC6YC6QaC2DsNK8at53a1fWcq7io"
    "dRqqp6Jbx7HWvWrMfYQ3QR+bnXdIXaLP7VYj7lFCuc7nknom7EtuMH5vYBLFZNo8bZqzsu"
    "8qO5AVrDyv+QxWXmk17cycaWaVKfRHEfKqGnrYHN1jjxiJHl7hWbLJLqfixFswwwNtJIWm"
    "es4g1Wv7sscfriDHwdpDJXLBeYH9Rbkg16KGE5F9NBesoUAcSY5cXwzVXw7Zmy+ot4/uPU"
    "tKypDFEGRc4GowE3jCOeQQS2RikCPIgryNESQogy99CYkbpHWOJZOJ4RrGezxL/ALMF0tf"
    "o8fog4RVKqnjqr+lr5kpZFr6WLcGmfEzNXlMCZ2B/97c3HESOl9VKkdHp5XyUfXs5Pj09O"
    "SsHMbQZNeiYFpvvlXxdG61TwNsdkY5gh+fnvI0mO9oCzThsTEzacISU931pT/5zVHqNK6u"
    "L8EbgnFhLtrwQF3WaXzqqOsHGV9IyyRHh9UlkqPDuOOdJUeqa571/PoqShL837+MMsPXxW"
    "Ob4xSAs/PPiMr6U9Bfwy8KSTZnEWEVDzPTXmOJBZYWURDmdDTXjdZFs/X2NQr0u+y20QI3"
    "o6Jpl72pNS8bF2o8y6aky963LhqXzQ+Nm1r9EnyTDw9kW5Aa6iffCKcUBO88hYKoyi63je"
    "e2cUqUM/VJUd/lPxuX/0QNbtoYjEAMn0nLzmvuhPKupLHZtrbAzxuOGBj5mFxCcbct9iif"
    "I5T4LjVGdJxrK2xOayWY4wtog1A+rJaXYgDlBRSgHAeaeh73AEJCc7CAeaWVeMCGOarnZg"
    "I2FtLQMCVh7UCYT8d1XutZ5u8GBwBI0RcnI6H/v2y33k7F4xnKPO731Bxi7WvzFp3imgXN"
    "6m2tP0Vdt05zxsaixDDLfydUt2ERFB0sTY+uuNkyr7mFyUYJfiBpM3sczIrfhJAGE3ghH1"
    "VVhxVMHlHb5Rublm9syN7atWq+oa5eNomNtUjv/qJdNVfJGV4o+OiWWmdIkVISiPcRRjZn"
    "A6TV4ULtcqEhFohxidSiRmMq0V631PVPqoTC56syQV3/mJZ7+rPc9V+dnZ50Sy+Se2lFDr"
    "Q7arlZYTJ7Y0zPgHw7BoPUQ1K7/YI8+wWSS5xSK8sk5qH8+urNv1GiuTtosyMDBZOB4E0C"
    "suCsTUJmMTGYSuc7caNejbBYj/uMhGdhuIfoHTDafTSiroTwTfAYCY4+Ugia8i8BERwmCQ"
    "R6iMb6YEzf8oScBPt9HeIxXHg+S38To9jhnkAVchZGn1IR3WSS8Iwl0Wye4FGTWncr+diY"
    "6nqc7DrN8bv72GgoDTOVZcu1ocI2FKnWXaklnKVsOdQ5tylmGeXBQCUGdw90iqInYct6Ea"
    "+325dziNebcUjfX9Ub4No0/CBkyUg5dkOYQ4ePKDvH5jCVM0R6F7IFqeQMMxRcqowgIBRS"
    "grCpiAbSt9CvVNZct3mxr8/AqvAMc03QyQFZm0qhz9MG7ARhFayVV4aI3Qc3M0Rpx3KLHu"
    "wJHAEgzVdNCBW2jicUX0yYGN/Qxs8TQ+J6W/Ci4bojye6Noj+BnWnvafB7wD+PT4upbQNT"
    "K3o7cQLZSkfaYqq7FbVpK2pDmGGNepY5TGOFQc9CRohnMo+RwWzDPoFYpbGqP+VlpicWrr"
    "MJVOZr1tm+Pfs96416QWlFx145OVnCs4NUpmvXfbEj/26uf38RiG8huoflpSqH5QWVw3Li"
    "MCWMKClLoaHZe4oRld2uYs5dxV8azH7+D3Pi1vo="
)
