"""Word lists used by the recognisers (public knowledge, written for SafeGate).

All lookups are done on folded text (lower case, no diacritics, see ``text.fold``), so the
lists are folded when loaded.
"""

from __future__ import annotations

from .text import fold


def _split(words: str) -> list[str]:
    return [w.strip() for w in words.replace("\n", ",").split(",") if w.strip()]


def _folded(words: str) -> frozenset[str]:
    return frozenset(fold(w) for w in _split(words))


def _raw(words: str) -> frozenset[str]:
    return frozenset(w.lower() for w in _split(words))


# Vietnamese family names (họ), most frequent first.
_FAMILY = ("""
Nguyễn, Trần, Lê, Phạm, Hoàng, Huỳnh, Phan, Vũ, Võ, Đặng, Bùi, Đỗ, Hồ, Ngô, Dương, Lý, Lí,
Đào, Đoàn, Vương, Trịnh, Trương, Đinh, Lâm, Phùng, Mai, Tô, Hà, Tạ, Cao, Chu, Quách, Lưu,
Lương, Thái, Châu, Tăng, Kiều, Đàm, Khúc, Lại, Lục, Mạc, Nghiêm, Nông, Triệu, Tống, Từ,
Thân, Khổng, Âu, Diệp, La, Hứa, Bạch, Lạc, Ông, Tôn, Doãn, Ninh, Lò, Hầu, Cù, Phó, Văn,
Giáp, Khương, Kha, Mẫn, Tiêu, Viên, Đồng, Lã, Thạch, Quan
""")
FAMILY_NAMES = _folded(_FAMILY)
FAMILY_NAMES_RAW = _raw(_FAMILY)

# Family names that are (almost) never ordinary words, even when written in lower case
# with diacritics: a lower-case "nguyễn văn an" is still a name.
DISTINCT_FAMILY_NAMES = frozenset({
    "nguyễn", "trần", "phạm", "huỳnh", "đặng", "bùi", "đỗ", "ngô", "võ", "vũ",
    "trịnh", "trương", "đinh", "phùng", "quách",
})

# Middle and given names (tên đệm, tên). Many are also ordinary words ("an", "hoa", "nam"),
# which is why the recognisers need a family name, capitals or a trigger phrase as well.
_GIVEN = ("""
An, Ân, Anh, Ánh, Bá, Bạch, Bảo, Bích, Bình, Cẩm, Cát, Châu, Chi, Chiến, Chinh, Công, Cúc,
Cường, Đại, Đan, Đăng, Đạt, Đào, Diễm, Diệp, Diệu, Điệp, Định, Đình, Đoan, Đông, Đức, Dung,
Dũng, Duy, Duyên, Dương, Gấm, Gia, Giang, Hà, Hạ, Hải, Hân, Hạnh, Hào, Hằng, Hậu, Hiền,
Hiển, Hiệp, Hiếu, Hòa, Hoa, Hoài, Hoàn, Hoàng, Học, Hồng, Huân, Huệ, Hùng, Hưng, Hương,
Hường, Hữu, Huy, Huyền, Kha, Khải, Khang, Khanh, Khánh, Khắc, Khoa, Khôi, Khuê, Kiên,
Kiệt, Kiều, Kim, Lam, Lâm, Lan, Lệ, Liên, Liễu, Linh, Loan, Lộc, Lợi, Long, Luân, Lực,
Lương, Ly, Mai, Mạnh, Mẫn, Minh, My, Mỹ, Nam, Nga, Ngân, Nghĩa, Ngọc, Nguyên, Nguyệt, Nhã,
Nhàn, Nhân, Nhật, Nhi, Nhung, Như, Oanh, Phát, Phi, Phong, Phú, Phúc, Phụng, Phước, Phương,
Phượng, Quân, Quang, Quế, Quốc, Quý, Quyên, Quyết, Quỳnh, Sang, Sơn, Sương, Tài, Tâm, Tân,
Tấn, Thạch, Thái, Thắm, Thắng, Thanh, Thành, Thảo, Thế, Thi, Thị, Thiện, Thịnh, Thơ, Thoa,
Thông, Thu, Thuận, Thục, Thương, Thủy, Thúy, Thùy, Thư, Thy, Tiên, Tiến, Tín, Tình, Toàn,
Trà, Trâm, Trang, Trí, Triết, Triều, Trinh, Trọng, Trúc, Trung, Trường, Tú, Tuấn, Tuệ,
Tùng, Tường, Tuyền, Tuyết, Uyên, Văn, Vân, Vi, Việt, Vinh, Vĩnh, Vũ, Vương, Vy, Xuân, Yên,
Yến, Ý, Hậu, Hiệu, Khiêm, Lành, Lụa, Mơ, Nương, Phấn, Quyền, Tám, Thục, Tố, Trân, Tươi, Út,
Hưởng, Thiên, Thủ, Thường, Toản, Tuân, Tuyên, Vĩ, Điền, Đoàn, Dân, Bằng, Cảnh, Chung, Đang,
Giao, Hồ, Hợp, Sáu, Nhiên, Khuyên, Kỳ, Luyến, Lý, Mạc, Nghị, Nhẫn, Phan, Phòng, Sinh, Sỹ,
Sĩ, Thạnh, Thân, Thìn
""")
GIVEN_NAMES = _folded(_GIVEN)
GIVEN_NAMES_RAW = _raw(_GIVEN)
_NAMES_FOLDED = GIVEN_NAMES | FAMILY_NAMES
_NAMES_RAW = GIVEN_NAMES_RAW | FAMILY_NAMES_RAW


def is_vi_name_word(word: str, given_only: bool = False) -> bool:
    """Whether a word (as written) is a Vietnamese given/middle (or family) name. A word
    written with diacritics must match with its diacritics ("năm" is not "Nam"); a word
    written without them matches any accented form."""
    w = word.lower()
    f = fold(w)
    if f == w:
        return f in (GIVEN_NAMES if given_only else _NAMES_FOLDED)
    return w in (GIVEN_NAMES_RAW if given_only else _NAMES_RAW)


def is_family_name_word(word: str) -> bool:
    w = word.lower()
    f = fold(w)
    return f in FAMILY_NAMES if f == w else w in FAMILY_NAMES_RAW

# Words that end a name after a trigger phrase ("tên em là An nhé").
NAME_STOPWORDS = _folded("""
nhé, nha, nhá, ạ, à, ah, ak, đó, đấy, đâu, và, với, hay, hoặc, học, lớp, ở, o, nay, năm,
tuổi, sinh, nhà, số, sđt, là, thì, mà, còn, của, cho, đi, đang, đã, sẽ, rồi, nè, ne, hả,
ko, không, k, cũng, vs, trường, the, and, from, at, in, i, im, am, is, a, an, to, of, my,
years, year, old, grade, class, live, lives, not, just, really, so, very, here, there, on,
with, but, or, too, bạn, mình, em, anh, chị, tớ, tao, tui, tôi, ơi, oi, thế, vậy, đây, ý,
cơ, hihi, haha, hehe, kk, lol, xin, chào, chao, hello, hi, nick, facebook, zalo
""")

# First-person (and a few other) pronouns before "tên"/"là", folded, with the chat spellings
# children use: "e" (em), "mk"/"mik"/"mjk" (mình), "t" (tao/tớ).
PRONOUNS = r"(?:em|e|minh|mk|mik|mjk|to|toi|tao|t|tui|con|chau|be|no)"

# Phrases after which a name follows ("tên em là ...", "my name is ..."). Folded regex
# alternatives; longest first so the regex prefers them.
NAME_TRIGGERS = [
    rf"ho va ten(?: (?:cua )?{PRONOUNS})?(?: la)?\s*:?",
    rf"ho ten(?: (?:cua )?{PRONOUNS})?(?: la)?\s*:?",
    rf"ten (?:that |day du )?(?:cua )?(?:{PRONOUNS}|ban ay|ban do|ban|nguoi ay|anh ay|"
    r"chi ay)? ?la",
    rf"{PRONOUNS} ten(?: that)?(?: la)?",
    rf"ten {PRONOUNS}",
    r"(?:^|(?<=[.!?,;:\n] ))(?:ten|name)\s*:",
    r"my (?:full |real |first )?name(?: is|'s)",
    r"(?:his|her|their|friend'?s) name(?: is|'s)",
    r"call me",
    rf"(?:cu |thi )?goi {PRONOUNS} la",
    r"chu (?:tk|tai khoan)|ctk|ten (?:tk|tai khoan)|nguoi nhan|account (?:holder|name)",
    r"(?:i am|i'm|im) called",
    r"named",
]

# Capitalised words that begin a sentence or phrase and are not names.
_CAPITAL_STOP = ("""
Tôi, Em, Anh, Chị, Mình, Tớ, Bạn, Ông, Bà, Ba, Cô, Chú, Bác, Thầy, Con, Cháu, Hôm, I, I'm, Im,
Ngày, Tháng, Năm, Thứ, Số, Nhà, Lớp, Trường, Đường, Phố, Quận, Huyện, Phường, Xã, Tỉnh,
Thành, Phố, The, This, That, My, Your, His, Her, Our, Their, Hello, Hi, Hey, Dear, Thanks,
Mom, Dad, Mr, Mrs, Ms, Miss, Dr, Sir, Monday, Tuesday, Wednesday, Thursday, Friday,
Saturday, Sunday, January, February, March, April, June, July, August, September, October,
November, December, Facebook, Zalo, Tiktok, Instagram, Discord, Telegram, Google, Youtube,
Vietnam, Việt, English, School, Street, Road, Grade, Class, Block, Team, Game, Ok, Okay
""")
CAPITAL_STOPWORDS = _folded(_CAPITAL_STOP)
_CAPITAL_STOP_RAW = _raw(_CAPITAL_STOP)


def is_capital_stopword(word: str, as_written: bool = False) -> bool:
    """A capitalised word that is not a name ("Em", "Hôm", "The"), compared with its
    diacritics when it has them ("Dương" is a name, "Đường" is not). A word without them
    matches any accented stopword ("Minh" may be "Mình" at the start of a sentence) unless
    ``as_written``: after "tên em là" or "tớ là", "Minh" is Minh."""
    w = word.lower()
    f = fold(w)
    return f in CAPITAL_STOPWORDS if f == w and not as_written else w in _CAPITAL_STOP_RAW

# Common English given names (US and UK usage), for "First Last" and "I'm First".
ENGLISH_FIRST_NAMES = _folded("""
Aaron, Abigail, Adam, Adrian, Aiden, Alan, Albert, Alex, Alexander, Alexandra, Alexis,
Alice, Alicia, Allison, Alyssa, Amanda, Amber, Amelia, Amy, Andrea, Andrew, Angela, Anna,
Anne, Anthony, Antonio, Aria, Ariana, Arthur, Ashley, Audrey, Austin, Ava, Barbara,
Benjamin, Betty, Beverly, Blake, Bobby, Bradley, Brandon, Brenda, Brian, Brittany, Brooke,
Bruce, Bryan, Caleb, Cameron, Carl, Carlos, Carol, Caroline, Carter, Catherine, Charles,
Charlie, Charlotte, Chelsea, Cheryl, Chloe, Chris, Christian, Christina, Christine,
Christopher, Cindy, Claire, Cody, Cole, Colin, Connor, Courtney, Craig, Crystal, Cynthia,
Daniel, Danielle, Danny, David, Deborah, Debra, Denise, Dennis, Derek, Diana, Diane,
Dominic, Donald, Donna, Dorothy, Douglas, Dylan, Edward, Eleanor, Elijah, Elizabeth, Ella,
Ellie, Emily, Emma, Eric, Erica, Erin, Ethan, Eugene, Evan, Evelyn, Frances, Frank, Gabriel,
Gabriella, Gary, George, Gerald, Gloria, Grace, Gregory, Hailey, Hannah, Harold, Harper,
Harry, Heather, Helen, Henry, Holly, Hunter, Ian, Isaac, Isabel, Isabella, Jack, Jackson,
Jacob, Jacqueline, Jake, James, Jamie, Jane, Janet, Janice, Jason, Jasmine, Jean, Jeffrey,
Jennifer, Jeremy, Jesse, Jessica, Joan, Joe, John, Johnny, Jonathan, Jordan, Jose, Joseph,
Joshua, Joyce, Juan, Judith, Judy, Julia, Julie, Justin, Karen, Katherine, Kathleen,
Kathryn, Kayla, Keith, Kelly, Kenneth, Kevin, Kimberly, Kyle, Laura, Lauren, Lawrence,
Leah, Leo, Liam, Lily, Linda, Lisa, Logan, Lucas, Lucy, Luis, Luke, Madison, Margaret,
Maria, Marie, Marilyn, Mark, Martha, Mary, Mason, Matthew, Megan, Melissa, Mia, Michael,
Michelle, Mila, Molly, Monica, Nancy, Natalie, Nathan, Nicholas, Nicole, Noah, Nora, Oliver,
Olivia, Owen, Pamela, Patricia, Patrick, Paul, Peter, Philip, Rachel, Ralph, Randy,
Raymond, Rebecca, Richard, Riley, Robert, Robin, Roger, Ronald, Rose, Ruby, Russell, Ruth,
Ryan, Samantha, Samuel, Sandra, Sara, Sarah, Scarlett, Scott, Sean, Sebastian, Sharon,
Shawn, Shirley, Sophia, Sophie, Stephanie, Stephen, Steven, Susan, Sydney, Tammy, Taylor,
Teresa, Terry, Theresa, Thomas, Tiffany, Timothy, Tina, Todd, Tom, Tony, Tracy, Travis,
Tyler, Valerie, Vanessa, Victoria, Vincent, Virginia, Walter, Wayne, William, Willie, Zachary,
Zoe, Amir, Ali, Omar, Mohammed, Muhammad, Fatima, Priya, Raj, Wei, Yuki, Hiroshi, Jin, Min,
Ji, Seo, Hana, Kenji, Mei, Lina, Nina, Lena, Maya, Leon, Max, Felix, Hugo, Oscar, Jasper,
Milo, Finn, Ezra, Theo, Eli, Aubrey, Layla, Penelope, Stella, Violet, Aurora, Hazel, Ivy,
Naomi, Paige, Kylie, Brianna, Destiny, Jenna, Haley, Shelby, Tanya, Wendy, Heidi, Kristen,
Kristin, Katie, Kate, Kim, Ann, Beth, Joy, Jill, Jerry, Jesus, Joel, Marcus, Mario, Martin,
Melvin, Micheal, Miguel, Mike, Nathaniel, Neil, Norman, Phillip, Ricky, Rodney, Roy, Seth,
Shane, Spencer, Stanley, Tanner, Trevor, Troy, Victor, Wesley, Xavier, Alejandro, Angel,
Brittney, Calvin, Casey, Curtis, Dale, Darren, Dustin, Eddie, Edwin, Gavin, Glenn, Grant,
Jared, Jeff, Jon, Barry, Cassandra, Cesar, Rachael, Laurie, Larry, Terri, Sherry, Marcia,
Gina, Carla, Carrie, Dawn, Joanne, Kristina, Katrina, Leslie, Lynn, Marsha, Melinda, Miranda,
Nichole, Patty, Peggy, Rhonda, Rita, Roberta, Sally, Sheri, Stacey, Sue, Suzanne, Tamara,
Toni, Vicki, Yolanda, Yvonne, Alexa, Alisha, Alison, Allen, Alvin, Andre, Andy, Arnold,
Ashlee, Autumn, Bailey, Ben, Bernard, Bill, Billy, Bonnie, Brad, Brendan, Brent, Bridget,
Caitlin, Candace, Carmen, Cassidy, Chase, Christy, Clarence, Claudia, Clifford, Clinton,
Colleen, Corey, Dana, Daisy, Darius, Darryl, Dean, Desiree, Devon, Diamond, Don, Dominique,
Duane, Earl, Edgar, Elaine, Ellen, Emilio, Erika, Ernest, Esther, Eva, Faith, Fernando,
Franklin, Fred, Gabrielle, Garrett, George, Gilbert, Glen, Gordon, Greg, Guy, Hector,
Herbert, Howard, Isaiah, Ivan, Jacqueline, Jaime, Jay, Jeanette, Jenny, Jermaine, Jessie,
Jim, Jimmy, Jo, Jodi, Joey, Jorge, Josephine, Julian, Julio, June, Kara, Karl, Kari, Kathy,
Katelyn, Kendra, Kenneth, Kerry, Kristy, Krystal, Kurt, Lacey, Latoya, Leonard, Leroy,
Lee, Lindsey, Lisa, Lorraine, Louis, Luke, Mackenzie, Madeline, Malik, Marco, Margaret,
Mariah, Marvin, Matthew, Maurice, Max, Meredith, Michele, Mitchell, Nancy, Nathan, Ned,
Nelson, Noel, Norma, Olivia, Paula, Pedro, Perry, Phyllis, Rafael, Ramon, Ray, Raymond,
Reginald, Rick, Robyn, Rodney, Roland, Ron, Ronnie, Rosa, Rosemary, Sabrina, Sam, Sandy,
Savannah, Sergio, Shaun, Sierra, Sonia, Sonya, Stacie, Summer, Sylvia, Tasha, Terrence,
Tim, Tommy, Tracie, Trey, Valerie, Vernon, Veronica, Wanda, Warren, Wendy, Yesenia,
Jonathan, Kelsey, Lance, Lindsay, Lindsey, Lori, Mandy, Marissa, Meghan,
Misty, Morgan, Nicolas, Preston, Regina, Renee, Sabrina, Shannon, Sheila, Stacy, Steve,
Tara, Tracey, Vickie, Whitney, Brett, Bryce, Chad, Clayton, Cory, Dakota, Devin, Drew,
Erik, Francisco, Gregg, Jacob, Jaime, Javier, Jesse, Kristopher, Levi, Manuel, Marc,
Randall, Ross, Ruben, Tristan, Wyatt, Zachery
""")

# Honorifics and kin terms that often precede a name ("cô Mai", "Mr Brown").
VI_TITLES = ("ban", "anh", "chi", "co", "thay", "chu", "bac", "ong", "ba", "be", "em",
             "co giao", "thay giao", "di", "cau", "mo", "duong")
# The same as written with diacritics: "đi Nhật Bản" (go to) is not "dì" (aunt), "có" is
# not "cô", "đường" (street) is not "dượng".
VI_TITLES_RAW = frozenset({"bạn", "anh", "chị", "cô", "thầy", "chú", "bác", "ông", "bà",
                           "ba", "bé", "em", "cô giáo", "thầy giáo", "dì", "cậu", "mợ",
                           "dượng"})
EN_TITLES = ("mr", "mrs", "ms", "miss", "dr", "mx", "prof", "coach", "aunt", "uncle")

# Banks in Vietnam: names and common short forms (folded), for BANK_ACCOUNT context.
BANKS = _folded("""
Vietcombank, VCB, Techcombank, TCB, MB, MBBank, MB Bank, Quân đội, BIDV, Agribank,
VPBank, VP Bank, ACB, Á Châu, TPBank, TP Bank, Tiên Phong, Sacombank, VietinBank, Vietin,
CTG, SHB, HDBank, HD Bank, OCB, Phương Đông, MSB, Maritime, SeABank, VIB, Quốc tế,
Eximbank, SCB, LienVietPostBank, LPBank, LPB, ABBank, Nam A Bank, NamABank, Bac A Bank,
BacABank, PVcomBank, Kienlongbank, VietABank, Viet Capital, BVBank, Bản Việt, Baoviet Bank,
NCB, Saigonbank, PGBank, GPBank, OceanBank, CBBank, Vietbank, VRB, Shinhan, Woori, HSBC,
Standard Chartered, Citibank, UOB, Public Bank, Cake, Timo, Ubank, TNEX, Liobank, MoMo,
ZaloPay, ViettelPay, Viettel Money, VNPay, ShopeePay, Ngân hàng, Nganhang, Bank
""")

# Common middle names (folded): in a lower-case unaccented run they mark a full name.
MIDDLE_NAMES = _folded("""
Văn, Thị, Đức, Hữu, Minh, Ngọc, Thanh, Quang, Xuân, Bảo, Hải, Hồng, Gia, Kim, Thu, Đình,
Công, Quốc, Phương, Tấn, Trung, Đăng, Hoàng, Mai, Phú, Khánh, Nhật, Trí, Anh, Tuấn, Thái,
Mạnh, Bá, Diệu, Mỹ, Kiều, Hoài, Thùy, Cẩm, Thế, Như, Huy, Tiến, Vĩnh, Khắc, Trọng, Duy
""")

# Family names that are not also everyday words when typed without diacritics, so that
# "tran thi mai" can be read as a name but "do", "dang", "phan", "duong" (đó, đang, phần,
# đường) are not.
UNACCENTED_FAMILY_NAMES = frozenset({
    "nguyen", "tran", "pham", "huynh", "hoang", "bui", "trinh", "phung", "quach", "dinh",
    "vuong", "ngo", "vo", "vu", "le",
})

# Public and fictional figures that children write about: a name, but not personal data.
# Compared folded; extend as needed (streets and schools named after historical figures are
# covered by the address and school recognisers).
PUBLIC_NAMES = _folded("""
Harry Potter, Hermione Granger, Ron Weasley, Albus Dumbledore, Lord Voldemort, Peter Parker,
Tony Stark, Bruce Wayne, Clark Kent, Mickey Mouse, Donald Duck, Elsa, Doraemon, Nobita,
Shizuka, Conan, Edogawa Conan, Son Goku, Naruto, Sasuke, Luffy, Pikachu, Mario, Luigi,
Taylor Swift, Justin Bieber, Billie Eilish, Lionel Messi, Cristiano Ronaldo, Neymar,
Elon Musk, Mark Zuckerberg, Bill Gates, Steve Jobs, Albert Einstein, Isaac Newton,
Hồ Chí Minh, Võ Nguyên Giáp, Trần Hưng Đạo, Lê Lợi, Nguyễn Du, Nguyễn Trãi, Quang Trung,
Sơn Tùng, Sơn Tùng M-TP, Đen Vâu, Mỹ Tâm, Hòa Minzy, Quang Hải, Công Phượng, Nguyễn Quang Hải,
Hai Bà Trưng, Bà Triệu, Lý Thường Kiệt, Trần Phú, Lê Quý Đôn, Chu Văn An, Kim Đồng,
Võ Thị Sáu, Phan Bội Châu, Phan Châu Trinh, Nguyễn Huệ, Ngô Quyền
""")
