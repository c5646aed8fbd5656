from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "closed_day" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "day" DATE NOT NULL UNIQUE,
    "reason" VARCHAR(64) NOT NULL
) /* A date the store takes no bookings (holiday, stocktaking), whatever the weekday's hours say. */;
        CREATE TABLE IF NOT EXISTS "opening_hours" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "weekday" SMALLINT NOT NULL UNIQUE,
    "opens_minute" SMALLINT NOT NULL,
    "closes_minute" SMALLINT NOT NULL,
    "closed" INT NOT NULL
) /* Opening hours of one weekday (Monday = 0), in the store's time zone. */;
        CREATE TABLE IF NOT EXISTS "service_kind" (
    "code" VARCHAR(32) NOT NULL PRIMARY KEY,
    "name" VARCHAR(16) NOT NULL,
    "duration_minutes" INT NOT NULL,
    "bookable_online" INT NOT NULL,
    "sort_order" INT NOT NULL,
    "active" INT NOT NULL
) /* A bookable service; `code` matches `bot.nlu.service` so parsed text maps straight onto a row. */;
        CREATE TABLE IF NOT EXISTS "slot_load" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "slot_start" TIMESTAMP NOT NULL UNIQUE,
    "booked" INT NOT NULL
) /* How many appointments cover one slot; capacity is enforced by a conditional UPDATE of `booked`. */;
        CREATE TABLE IF NOT EXISTS "staff" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "name" VARCHAR(32) NOT NULL,
    "mobile" VARCHAR(11) NOT NULL,
    "role" VARCHAR(16) NOT NULL /* CLERK: clerk\nMANAGER: manager */,
    "active" INT NOT NULL,
    "openid" VARCHAR(64) UNIQUE,
    "created_at" TIMESTAMP NOT NULL
) /* A dealership employee; `openid` is set once they bind their WeChat account. */;
CREATE INDEX IF NOT EXISTS "idx_staff_mobile_17be3e" ON "staff" ("mobile");
        CREATE TABLE IF NOT EXISTS "store_counter" (
    "name" VARCHAR(32) NOT NULL PRIMARY KEY,
    "value" BIGINT NOT NULL
) /* A named counter advanced by atomic UPDATEs (round-robin owner assignment). */;
        CREATE TABLE IF NOT EXISTS "store_schedule" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "timezone" VARCHAR(64) NOT NULL,
    "slot_minutes" INT NOT NULL,
    "capacity_per_slot" INT NOT NULL,
    "online_share" INT NOT NULL,
    "min_lead_minutes" INT NOT NULL,
    "horizon_days" INT NOT NULL,
    "change_cutoff_minutes" INT NOT NULL
) /* The store's booking rules, one row (id=1); opening hours are read in `timezone`. */;
        CREATE TABLE IF NOT EXISTS "customer" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "name" VARCHAR(32) NOT NULL,
    "mobile" VARCHAR(11),
    "openid" VARCHAR(64) UNIQUE,
    "created_at" TIMESTAMP NOT NULL,
    "owner_id" INT REFERENCES "staff" ("id") ON DELETE SET NULL
) /* A car owner: created by the dealership or on a first booking; `openid` links their WeChat account. */;
CREATE INDEX IF NOT EXISTS "idx_customer_mobile_272313" ON "customer" ("mobile");
        CREATE TABLE IF NOT EXISTS "vehicle" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "plate" VARCHAR(10) NOT NULL UNIQUE,
    "model" VARCHAR(64),
    "vin" VARCHAR(17) UNIQUE,
    "created_at" TIMESTAMP NOT NULL,
    "customer_id" INT NOT NULL REFERENCES "customer" ("id") ON DELETE CASCADE
) /* One car; `plate` is normalised as `bot.nlu.plate.parse_plate` returns it (粤A12345). */;
        CREATE TABLE IF NOT EXISTS "appointment" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "reference" VARCHAR(12) NOT NULL UNIQUE,
    "service" VARCHAR(32) NOT NULL,
    "start_at" TIMESTAMP NOT NULL,
    "end_at" TIMESTAMP NOT NULL,
    "status" VARCHAR(16) NOT NULL /* BOOKED: booked\nCANCELLED: cancelled\nCHECKED_IN: checked_in\nCOMPLETED: completed\nNO_SHOW: no_show */,
    "source" VARCHAR(8) NOT NULL /* SELF: self\nCLERK: clerk */,
    "campaign" VARCHAR(64),
    "changes" INT NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "cancelled_at" TIMESTAMP,
    "customer_id" INT NOT NULL REFERENCES "customer" ("id") ON DELETE RESTRICT,
    "vehicle_id" INT NOT NULL REFERENCES "vehicle" ("id") ON DELETE RESTRICT
) /* A service visit: one vehicle, one service, [start_at, end_at) in the store's slot grid. */;
CREATE INDEX IF NOT EXISTS "idx_appointment_start_a_077d44" ON "appointment" ("start_at");
CREATE INDEX IF NOT EXISTS "idx_appointment_custome_c2aeb0" ON "appointment" ("customer_id", "status", "start_at");"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "appointment";
        DROP TABLE IF EXISTS "vehicle";
        DROP TABLE IF EXISTS "customer";
        DROP TABLE IF EXISTS "staff";
        DROP TABLE IF EXISTS "slot_load";
        DROP TABLE IF EXISTS "store_counter";
        DROP TABLE IF EXISTS "store_schedule";
        DROP TABLE IF EXISTS "opening_hours";
        DROP TABLE IF EXISTS "closed_day";
        DROP TABLE IF EXISTS "service_kind";"""


MODELS_STATE = (
    "eJztXW1z2rgW/isavmw6Q3Pznmx6986QhLa5JdAJdLuzzY4jbAGeGMkryUnZvf3vV5Jt/O"
    "7YBIhh/SUB+RwLP5KPzpuO/m5MiYEsttuybWJiPkWYN87B3w0Mp0h8SLvcBA1o28FF2cDh"
    "0FL0MEY4ZJxCXd5zBC2GRJOBmE5Nm5sES4YWYIg+mjoCjyYz+TkgWHxEE1O3BLX84l1vgm"
    "+MQ8o1yJsAYUP8fwNMDPhEkHBC0U8MMItwMKamsSs7N4guejfxeMX9ONj800EaJ2MkiKjo"
    "7dsfotnEBvqOmPz6raE7gneKqGYakkX0wB3mfVJ9Nf6QPPaDNjKRZUTGwGVR7Rqf2artGv"
    "P3ilA+51DTieVMcUBsz/iE4Dm16Y7GGGFEIUfy9pw6cjSwY1ne2PkD5D5OQOI+R4jHQCPo"
    "WHJMJbf7A4K2hqZ1ewOt3x5oWiMx3j5HaGi8Jp1gOVfET2Xq6cfyJ7w92D86PTo7PDk6Ey"
    "TqZ85bTn+4XQfAuIwKnu6g8UNdhxy6FGogAlApGiGKsI6S2F5OIE0HN8IUw1j8+DjGPqLV"
    "BXkKv2sWwmM+EV/3D3IQ/bV1e/mxdbuzf/BGdkjEW+2+8V3vyoG6JEEPQPZeqTIQh1iWA7"
    "DfECAcSKK1Q3xYBOLDbIgPkxD78iOB8ZUAiZtTlIFziC8GtOEx7voflgP7Oid2DsqD65t2"
    "f9C6+SxvP2XsT0uB1Rq05ZUD1TqLte6cxEZkfhPw9XrwEciv4Pdet63QJIyPqeoxoBv83p"
    "C/CTqcaJg8adAIA+k3+02REXbXoLLjG3CtZ3TX+lJt0/AGqkBSRLaxM1XDey0eH3rrTvw1"
    "9rjXJy0bQ0IekD/lig5u46LX+9S+Ogcu9x2+bHUv252ObNLls1mWav3YvhRk2nVXNE+QLk"
    "g1E4v23s3nTnugqMnUthCX1N2e1v/Y+yrmCdHYRCC8yLJ3UmTZi0+R0LJ3kpDJxKFZq16B"
    "IZ1zr3FIGbJGZQe03+68PweSUwxPp337SQyNhejDIoNwVmAMzjKH4Cw+Ajqc2tAc4zKaR5"
    "hnIeS9Ba4qQjIK8MlRAYRPjjIhlpdiGE8gHqMUyZVpm4Q4njdQljW19yptoITgpEg++QJL"
    "fZSzXu4rvdw7trHgMEc562Gu9DDPNZpF3ucY7xKGumJL01aNdNSzV3QpjHKtbzmsvMsuQN"
    "bzzpYDNspU4+rhKp3Lo4dUT6g/FZMgvycUCYX4E5olLJYYsF6Y4DJ0qw0D+Yc/kfzWQGpS"
    "+DT3ysdfXIGBeHJhjMprt0KY3F5fDhpp03gJ8P4a3GlL0Y2+vRngyrk8hPrDE6SGFpnU8g"
    "o5ILGWOW3y0vRgGm+BGI4VQPJJ5O/257ZFGDKu4KyREh8LLjbzomO6ItMMj65AcEyu8UHo"
    "CXD4gBjARDlRBOAM7EyIZYobNiWF/iAIRPObJniaCM5HRBXzE0IPguYnBibEoQwwOEuLkK"
    "22s+fDZHUEbJ0RMG8WJjXTdFg98jxldOPiXzn4Sd0ypo8IM5uRUi6lgGONrrySbrxX9Scl"
    "1JJXku2+3pIm2kM6TY5kD1MVkOs6pIA8idE/B577BgxnSnwaCFqIsolpAyJoMIBgZFLGfS"
    "n8DtwTG2HTuAeWiR+YZDIp+IrENOQA6jpxME+T7uvospbx1ZLx6n8JgeXTb524Wn7gfUqG"
    "ZppWnw1uwLGi8MIrpo7sF4mh7WfH0Pbj8LoCpwy8AcdS4K1QYs4KYjd1sOGf4JtUy305/1"
    "mYZSHvWcVczSt2nim4luDa6XM4Gm0eukX9OuFZFfHqiB8Aul86nTyvToB2KLs4Je584XG/"
    "/3SLLKgeJRPvWELzZsqoBOxpfscXArV9Pscfq7Qkr0xokXEfMeb+2oQ5GSVo5tmUhiLVWI"
    "j2WcuyhxGg5AnYSBhySiHaBfePwrgT1+/BVHn0GHwUf2UWFaToLcTGW4akGUcJY+CJ0AfB"
    "a1Oii34RS1qSq+niBZbj2lXFitmQK9EVc/yGalqWgTvgqO3KZ+1KxpFdBlyfvob2WWjllE"
    "5C+99+r5vl8nbp41aOqXPwP2CZbGW6Q+PfIwfrEj8wdEyLm5jtym7/syroc6CW+EQMHh/i"
    "nZvWb3H0Lzu9i7glI29wEfeemFLyl7BLAoY6dTCZKEF9DaFwlsSco4YzDif6bpti6i6y6S"
    "LCWedtVdk3Uidibu0wVySq2JNWBh5/lFkQjRRTMHK9mWcJEpdSm8xJnzcEXRYvB4OM1BZn"
    "LzUD7NwQLP//AvbeNOObm+WkBX8J8hTTb0k3rcOE1QoTekOYRLY/hZaVCW+IbTlaRBVAPj"
    "w4PZnjK7/kQdu/aXU6SQ1Cvq9Mm5rY4SkRwnxQ47zblMK6DGxVDt2i4CaYa3RT0E0RsReE"
    "WAjiHFTTRO1QcK0Kz3nLehWgi16vE9F9Lq4HMRv4y81F+3bHDXYLItONdGSEkl5JNXH4kH"
    "y/QYxBNXeSukmEIF85UaTaNERbIAHKIwecANthE/lfKhMOQ7QJnqjJOcK+EiFuhhl03SFc"
    "phzpUNAZwOQAYgMwhMWHEUdUepynZmr208r7K1IFJtitjdF3WX2Bo6m9QPWXC3P8T9F5fj"
    "44ODw8Pdg7PDk7Pjo9PT7bm4u45KU8gXdx/UG+gpFX9XnN6EE8fLo39vmN3D5vleuYNAbt"
    "m88dYaiJwRVz0RI/6A4P2r8N5PfvPP4iFcoFWvp++tcP8FQp12r52UA2nFkEpgCc7RoPsa"
    "zfO/46ro+V+ME3sPqHeLUMCWFJQfO53b267n44Bx7/He63u4NztZre4feta1UJZARNVQbk"
    "S/eq3bn+tX3buugI2eSIH2SZj+Jhhm4uwusLJW/xLhPDCLPUbve46RFXiRK45ntlU9hr12"
    "zlXLNRWxOKQTA0B3PTKjvcCeY62lLtsTaFnNembJyajppTlSfOWGfsPKvPGchwbKQ9oBSP"
    "bk6WToRr23Lo90/2CmkAezkqwF4caEQpoQJCI8URmakFRJnqHOukJmBBxjUFUxLWgVjm03"
    "GNcm1DBa+8BUCY6PnGyFz+d3rdDz553EKJ4v6E9AlUsras0ynOuaJZva3+p7DoVmbOTMsz"
    "DLPkd4J1G16CeivU60EvHtDoYWvWmG8v2ASF1JvA+VVXpVK5QNXkgK22N6pmb1QktvZZNt"
    "8i20qtFBO62syLqtmSTqNzwmdDaoMJApJJ5eVAYBE8BopdfJFRLjCBspgLB/KlBjPEwc5d"
    "4845PjGQ+PvzngHunCO0N1R/9+6cn89Oj+8ab5KxtFV2VO8CqdYymR0YUzOgXMQgvfRrHS"
    "8oEy/ghMMUX1mmYj6n36ZEl6UZmnUOcK0MrFgZ8DY5Gjm5NgmafMXApy6XcSN3bZp4SBxs"
    "zHNhCAXoUWi0TfCAbC6Wb5m+y4hX2OcnJlZwMUnEQi9WY5UY41YFUot9Uy3xUHyhDk7fJL"
    "ra7l6gKpR0jL7EI1plJWGJLtG8c5Z0ZD4uJGNjrPUpNVWTsdHieJ6lUtRdO2fYBifVuj21"
    "BsEpIYfcJF2fpU7R3YwU3b57ENonmUSYojSEL+fqC96BapqfjVgkOVfW/ZP8/pmI78C9jF"
    "fJ6g5cn4gV+n5I+C62nF2P4F6u4zakMktW5g0KQpsBNV7jCQcEcyIXb/KUlpq74t5eoCik"
    "R/ZygtXpQb3NVxWWtRd/kysVrlEvW3aumuFQVebH2/hSJmctjbX2JaT4EnwpphFsmaVX5x"
    "TuNS7UvmDZqHU6euIa5RqhRlottsypHWWqEzLjoModMI9lJ3LAVM/fzdAzLcI7MpU/Tcn0"
    "r+VrmIJK83cDPK9efiRPQmHDMxCu5gd0Is8PUOdwi9u9Azq0oW7yGTAZQHhEqO7Wq4aCEh"
    "umvBm0wJfP0viVgah791jJ+6SCuYb+lryfvd7etdz0mmytU01ddRRyWedUlHMVvqmqnoyw"
    "ca6p4LjagopBwFArBVVaqVSN3LRlyi+em7NGzUmKHLoTnIcg90SSGUKhIxDEAiGLWRKsq8"
    "NyZmAoxrXwKQxLvXddR6VadVRqJ8Y2HbhQsWjRqk9coCQL3ec3ovq8a9yGGhw1XmITaviY"
    "8jt80+q2PrRvz4G75NC4uH6ljaW12b0ut1F9yEidWV+5ePEmmFclLILkQbMvPJGgxCGz1c"
    "wSWO+JBH1ZgfFSmgzp59tFrjfzbShBqekh0gK2lOzNAB4TgMaj1B9cz5oYRVP3XGoM7FCZ"
    "LPaWCp0Nu+fUAciYOcbSX5eShr7cW7/Aknpdpb9CK8jqg8SP0HLSNKMcf+mcZWtcOWtwmV"
    "bG4SMETl+fIMNRvy5dds0JCggvFqYttKXGL2DrHYUJqOBmTRU4kIeg7JjGL/tv3gESqYwL"
    "KXJ3vwh5cy9VFFn5NiU0sYoOap9QtXxC/uiUWSLCPGs0qVvMhP/qTyAeT6BZ0rSujNWhAj"
    "Pl81zibOtbLg6r7PqP2HNeiFSzEdUkXiXgTeVdH8ZHGwKxm/2jMSEZypQUibOtD9jT4w1B"
    "VrzaQupAYwHRkMa6PoRPNkU8TAg1/5KHO8JZGXTjbLXgTQpeuSQLy9vhZDRaYAJn8q8P6/"
    "2DKoNdEXtnQB4QvoTCRmmkGDuhq7mWDpd0mj4nLGbmyKXDkMFlxBhQt1AHPLZs+/qqqcpe"
    "yx15Qgwy5NbEthBnykrxNiQCGZt2z/mgaEQRm4C0Styr7uwF5o+AtFwwYM6wda6c1dcPcA"
    "dfU4OfxDx721icbwuOPVz35rH6fLNtDctEiuhJ6allnE+eLdNibNuwOXPVHgcXsoWq2MZY"
    "6zeqam9URTRD/xT2FLUwdEB7tk74GCIqVCpCh/QduFfnQaisREzoFFqm3HEJQxsyFcGu2o"
    "qpecQUcYdiJg9L2blzTnV41No/ODw6TgnhrbKj2g1eLTe4GrQyC9GcYeuU6/1CZTdyqm4k"
    "6hCrN74MuHOGen1/fn1/NFMslGxsPfJtyw/bz3v/57P2NHvWntb5Yf8YtSkyzF6+Vmrh/2"
    "yfZZSr3nKe5apMAp1E+T2hyBzjT2iWSON+cY5d1UDOSrITzRQ+zdW9+ASTEQhkITdT+LLV"
    "v2xdtRs/iqQ1hreVJqEvk9nYCu60RcCvNLuxhaipTxopdpF3pZlnFsGA5jmrKBuG2tKolq"
    "XxiCjzXrPCKlvAsoVbsQ6OjwuoboIqU3dT12K7VMRLVQJhj3wL0d3fK2bO5dlzCYNO9Mi9"
    "VSCKcHZ95RBLXWG5ZIXlV/Xy/fg/611kxw=="
)
